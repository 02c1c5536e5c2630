/**
 * Parley's own view of a run, from its Prometheus `/metrics`: how long the
 * server took from a `sendMessage` arriving to its ack (validation, the
 * group-commit queue, the durable commit). Set against the load generators'
 * send → receive latency it tells server-side queueing from time spent in the
 * clients and the kernel. The histogram's buckets are coarse, so a percentile
 * is reported as the upper bound of the bucket it falls in.
 */

/** Cumulative counts per bucket upper bound (seconds), for one event. */
export type Buckets = Map<number, number>;

const BUCKET_LINE =
  /^parley_event_duration_seconds_bucket\{(?=[^}]*event="sendMessage")[^}]*le="([^"]+)"[^}]*\} (\d+(?:\.\d+)?)$/;

async function metricsText(url: string): Promise<string> {
  const res = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (!res.ok) throw new Error(`GET /metrics: ${res.status}`);
  return await res.text();
}

export async function readSendBuckets(url: string): Promise<Buckets> {
  const buckets: Buckets = new Map();
  for (const line of (await metricsText(url)).split("\n")) {
    const m = line.match(BUCKET_LINE);
    if (m) buckets.set(m[1] === "+Inf" ? Infinity : Number(m[1]), Number(m[2]));
  }
  return buckets;
}

/**
 * The upper bound in ms of the bucket holding quantile `q` of what happened
 * between two readings; NaN when nothing did.
 */
export function quantileBoundMs(before: Buckets, after: Buckets, q: number): number {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) ?? 0) - (before.get(Infinity) ?? 0);
  if (total <= 0) return NaN;
  for (const le of bounds) {
    if ((after.get(le) ?? 0) - (before.get(le) ?? 0) >= q * total) return le * 1000;
  }
  return Infinity;
}

/** One unlabelled sample of the server's /metrics (e.g. a gauge), or NaN when absent. */
export async function readSample(url: string, name: string): Promise<number> {
  const line = (await metricsText(url)).split("\n").find((l) => l.startsWith(`${name} `));
  return line ? Number(line.slice(name.length + 1).split(" ")[0]) : NaN;
}

/**
 * The server's event-loop delay in ms (`parley_event_loop_delay_seconds`: how late its
 * 10 ms probe timer fired), over a run; NaN where the server has no such metric. Named as
 * the bench's `extra` fields, so that the result can be spread into them.
 */
export interface LoopDelay {
  eventLoopDelayP50Ms: number;
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
}

/** Seconds the server's quantiles cover (a rolling window, src/metrics/metrics.ts). */
export const LOOP_WINDOW_S = 10;

const LOOP_LINE = /^parley_event_loop_delay_seconds\{quantile="([^"]+)"\} (\S+)$/gm;

/** One reading of the server's window: quantile ("0.5", "0.99", "1") → ms. */
export async function readLoopDelay(url: string): Promise<Map<string, number>> {
  const values = new Map<string, number>();
  for (const m of (await metricsText(url)).matchAll(LOOP_LINE)) {
    values.set(m[1]!, Number(m[2]) * 1000);
  }
  return values;
}

/**
 * Watches the event-loop delay from now until `stop()`: reads the server's window once
 * per window length (so that consecutive readings hardly overlap) and once at the stop.
 * Max is the largest reading's max, exact. P99 is the largest window p99: in each window
 * at most 1 % of the samples are above it, so over the run too (an upper bound, up to a
 * second of overlap aside). P50 is the median of the window medians. A run shorter than
 * the window also counts up to LOOP_WINDOW_S − run seconds from before the start.
 */
export function watchLoopDelay(url: string): { stop(): Promise<LoopDelay> } {
  const readings: Map<string, number>[] = [];
  const read = () => readLoopDelay(url).then((r) => void (r.size && readings.push(r)), () => {});
  // A second less than the window: the server's window is whole seconds, 9 to 10 s long.
  const timer = setInterval(read, (LOOP_WINDOW_S - 1) * 1000);
  return {
    async stop() {
      clearInterval(timer);
      await read();
      const all = (q: string) => readings.map((r) => r.get(q) ?? NaN).filter(Number.isFinite);
      const p50s = all("0.5").sort((a, b) => a - b);
      return {
        eventLoopDelayP50Ms: p50s.length ? p50s[(p50s.length - 1) >> 1]! : NaN,
        eventLoopDelayP99Ms: all("0.99").length ? Math.max(...all("0.99")) : NaN,
        eventLoopDelayMaxMs: all("1").length ? Math.max(...all("1")) : NaN,
      };
    },
  };
}
