/**
 * Watches the SQLite backend's group commit from the main thread without
 * touching src/: the global `Worker` class is replaced by a subclass that
 * times each write batch connection.ts posts to its writer worker
 * (`{type: "write", batch, ops}`) and the reply (`{type: "written", batch}`).
 * Install it before the backend is opened (store_cost.ts does; a server gets it
 * through `--preload bench/store_probe.ts`).
 */

/** One write batch (one transaction), as the main thread saw it. */
export interface BatchTrace {
  /** `Date.now()` when it was posted, ms (to cut a run's phase out of a server's life). */
  at: number;
  writes: number;
  /** Main thread time inside `postMessage` (structured clone of the batch, the hand-off), µs. */
  postUs: number;
  /** Post → reply: the worker's transaction with its COMMIT, and both hand-offs, ms. */
  roundTripMs?: number;
  /** Main thread time in connection.ts's reply handler (before the callers' continuations), µs. */
  handlerUs?: number;
  /**
   * Reply → a timer set in the reply's handler fired, ms: the callers' continuations
   * of the whole batch (and whatever else was queued), i.e. how long one reply keeps
   * the event loop from timers.
   */
  drainMs?: number;
}

export interface WorkerProbe {
  /** Batches recorded while `enabled`, oldest first. */
  readonly traces: BatchTrace[];
  enabled: boolean;
}

/** Replaces `globalThis.Worker`; returns the probe that collects the traces. */
export function installWorkerProbe(): WorkerProbe {
  const probe: WorkerProbe = { traces: [], enabled: true };
  const open = new Map<number, { trace: BatchTrace; postedAt: number }>();
  const BaseWorker = globalThis.Worker;

  class ProbedWorker extends BaseWorker {
    constructor(specifier: string | URL, options?: WorkerOptions) {
      super(specifier, options);
      let handler: ((this: Worker, ev: MessageEvent) => unknown) | null = null;
      // connection.ts sets `onmessage`; it is called from the listener below, and timed.
      Object.defineProperty(this, "onmessage", {
        get: () => handler,
        set: (fn) => handler = fn,
      });
      this.addEventListener("message", (event) => {
        const data = event.data as { type?: string; batch?: number };
        const pending = data.type === "written" ? open.get(data.batch!) : undefined;
        const t0 = performance.now();
        handler?.call(this, event);
        if (!pending) return;
        open.delete(data.batch!);
        const t1 = performance.now();
        pending.trace.roundTripMs = t0 - pending.postedAt;
        pending.trace.handlerUs = (t1 - t0) * 1000;
        setTimeout(() => pending.trace.drainMs = performance.now() - t0, 0);
      });
    }

    override postMessage(
      message: unknown,
      options?: StructuredSerializeOptions | Transferable[],
    ): void {
      const post = () =>
        Array.isArray(options)
          ? super.postMessage(message, options)
          : super.postMessage(message, options);
      const m = message as { type?: string; batch?: number; ops?: unknown[] };
      if (!probe.enabled || m.type !== "write") return post();
      const t0 = performance.now();
      post();
      const trace: BatchTrace = {
        at: Date.now(),
        writes: m.ops!.length,
        postUs: (performance.now() - t0) * 1000,
      };
      probe.traces.push(trace);
      open.set(m.batch!, { trace, postedAt: t0 });
    }
  }
  globalThis.Worker = ProbedWorker;
  return probe;
}

/** Figures of a set of batches (NaN when there is none). */
export interface BatchStats {
  batches: number;
  writes: number;
  meanWrites: number;
  p50Writes: number;
  p99Writes: number;
  maxWrites: number;
  roundTripP50Ms: number;
  roundTripP99Ms: number;
  roundTripMaxMs: number;
  postUsPerWrite: number;
  handlerUsPerWrite: number;
  drainP50Ms: number;
  drainP99Ms: number;
  drainMaxMs: number;
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export function batchStats(traces: readonly BatchTrace[]): BatchStats {
  const done = traces.filter((t) => t.roundTripMs !== undefined);
  const sorted = (pick: (t: BatchTrace) => number | undefined) =>
    done.map(pick).filter((v): v is number => v !== undefined).sort((a, b) => a - b);
  const sizes = sorted((t) => t.writes);
  const trips = sorted((t) => t.roundTripMs);
  const drains = sorted((t) => t.drainMs);
  const writes = sizes.reduce((n, w) => n + w, 0);
  const per = (total: number) => writes > 0 ? total / writes : NaN;
  return {
    batches: done.length,
    writes,
    meanWrites: done.length > 0 ? writes / done.length : NaN,
    p50Writes: quantile(sizes, 0.5),
    p99Writes: quantile(sizes, 0.99),
    maxWrites: quantile(sizes, 1),
    roundTripP50Ms: quantile(trips, 0.5),
    roundTripP99Ms: quantile(trips, 0.99),
    roundTripMaxMs: quantile(trips, 1),
    postUsPerWrite: per(done.reduce((n, t) => n + t.postUs, 0)),
    handlerUsPerWrite: per(done.reduce((n, t) => n + (t.handlerUs ?? 0), 0)),
    drainP50Ms: quantile(drains, 0.5),
    drainP99Ms: quantile(drains, 0.99),
    drainMaxMs: quantile(drains, 1),
  };
}
