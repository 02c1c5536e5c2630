/**
 * Outgoing deliveries (webhook calls, Web Push requests) off the send path:
 * a bounded in-memory queue, a few at a time, each retried with exponential
 * backoff and jitter until it succeeds, gives up, or runs out of attempts.
 *
 * Nothing here survives a restart: a notification is a courtesy on top of
 * the durable message, which the user gets on the next connect anyway.
 */
import { errorFields, type Logger } from "../log.ts";

export interface RetryOptions {
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Wait before the first retry; doubled for each next one, ±20% jitter. */
  baseDelayMs: number;
  /** Longest wait between two attempts (default 5 minutes). */
  maxDelayMs?: number;
  /** Attempts running at once (default 8). */
  concurrency?: number;
  /** Jobs held at once, waiting or running; more are dropped with a warning (default 10,000). */
  maxQueued?: number;
}

/** What one attempt says. */
export type AttemptOutcome =
  | { status: "done" }
  | { status: "retry"; reason: string; retryAfterMs?: number }
  | { status: "failed"; reason: string };

export interface Job {
  /** Log fields naming the job (never message text). */
  readonly label: Record<string, unknown>;
  /** One try. `signal` aborts when the queue closes; a throw counts as "retry". */
  attempt(signal: AbortSignal, attempt: number): Promise<AttemptOutcome>;
}

interface Entry {
  job: Job;
  attempt: number;
}

export class RetryQueue {
  private readonly ready: Entry[] = [];
  private readonly waiting = new Map<ReturnType<typeof setTimeout>, Entry>();
  private readonly running = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private closed = false;
  private readonly options: Required<RetryOptions>;

  constructor(options: RetryOptions, private readonly log: Logger) {
    this.options = { maxDelayMs: 300_000, concurrency: 8, maxQueued: 10_000, ...options };
    if (this.options.maxAttempts < 1) {
      throw new RangeError(`'maxAttempts' must be >= 1: current value is ${options.maxAttempts}`);
    }
  }

  /** Queues a job; false (and a warning) when the queue is closed or full. */
  add(job: Job): boolean {
    if (this.closed) return false;
    if (this.size >= this.options.maxQueued) {
      this.log.warn("push queue full, dropped", job.label);
      return false;
    }
    this.ready.push({ job, attempt: 1 });
    this.pump();
    return true;
  }

  /** Jobs waiting or running. */
  get size(): number {
    return this.ready.length + this.waiting.size + this.running.size;
  }

  /**
   * Stops taking jobs and drops those waiting for a retry; attempts under way
   * get `graceMs` to finish, then are aborted.
   */
  async close(graceMs = 2000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const dropped = this.ready.length + this.waiting.size;
    for (const timer of this.waiting.keys()) clearTimeout(timer);
    this.waiting.clear();
    this.ready.length = 0;
    if (dropped > 0) this.log.warn("push deliveries dropped on shutdown", { count: dropped });
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => timer = setTimeout(resolve, graceMs));
    await Promise.race([Promise.allSettled([...this.running]), grace]);
    clearTimeout(timer);
    this.abort.abort();
    await Promise.allSettled([...this.running]);
  }

  private pump(): void {
    while (!this.closed && this.running.size < this.options.concurrency && this.ready.length > 0) {
      const entry = this.ready.shift()!;
      const run = this.run(entry).finally(() => {
        this.running.delete(run);
        this.pump();
      });
      this.running.add(run);
    }
  }

  private async run(entry: Entry): Promise<void> {
    const { job, attempt } = entry;
    let outcome: AttemptOutcome;
    try {
      outcome = await job.attempt(this.abort.signal, attempt);
    } catch (err) {
      outcome = { status: "retry", reason: String(errorFields(err).err) };
    }
    if (outcome.status === "done") return;
    const fields = { ...job.label, attempt, reason: outcome.reason };
    if (outcome.status === "failed") {
      this.log.warn("push delivery failed", fields);
      return;
    }
    if (this.closed) return;
    if (attempt >= this.options.maxAttempts) {
      this.log.warn("push delivery gave up", fields);
      return;
    }
    const delay = this.delayBefore(attempt + 1, outcome.retryAfterMs);
    this.log.debug("push delivery will retry", { ...fields, delayMs: delay });
    const timer = setTimeout(() => {
      this.waiting.delete(timer);
      this.ready.push({ job, attempt: attempt + 1 });
      this.pump();
    }, delay);
    this.waiting.set(timer, entry);
  }

  /** Exponential backoff with ±20% jitter; a server's Retry-After is a floor. */
  private delayBefore(attempt: number, retryAfterMs = 0): number {
    const { baseDelayMs, maxDelayMs } = this.options;
    const exponential = baseDelayMs * 2 ** (attempt - 2) * (0.8 + Math.random() * 0.4);
    return Math.round(Math.min(maxDelayMs, Math.max(exponential, retryAfterMs)));
  }
}

/** Retry-After in seconds or as a date, in milliseconds from now; undefined when absent or bad. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Whether an HTTP status is worth another try later. */
export function isTransient(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** `fetch` with a time limit that also stops when `signal` aborts; the body is always consumed. */
export async function post(
  url: string,
  init: { headers: Record<string, string>; body: Uint8Array | string },
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Response> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  signal.addEventListener("abort", stop, { once: true });
  const timer = setTimeout(stop, timeoutMs);
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: init.headers,
      body: init.body as BodyInit,
      signal: controller.signal,
      redirect: "manual",
    });
    await response.body?.cancel();
    return response;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", stop);
  }
}
