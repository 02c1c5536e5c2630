/**
 * Runs the outbox (src/store/outbox_store.ts): webhook calls, Web Push
 * requests and events, each stored before it is attempted, so that a restart
 * or a kill -9 loses none, and each retried with exponential backoff and
 * jitter until it succeeds, is refused, or runs out of attempts.
 *
 * The loop leases due entries from the store and runs a few at a time. It
 * wakes at once when this process adds entries or a slot frees up, else at
 * the next due time, and at least every `pollMs`, so that entries another
 * node added (or one whose lease ran out after its node died) are seen too.
 * The lease outlasts an attempt's time limit: a process killed mid-attempt
 * has its entries run again once their lease is over.
 *
 * Delivery is at least once: an entry whose attempt succeeded just before a
 * kill -9 (the success not yet stored) runs again. Receivers dedupe on the
 * entry's id, which each channel sends (`X-Parley-Delivery`).
 */
import { errorFields, type Logger } from "../log.ts";
import {
  type NewOutboxEntry,
  OUTBOX_TOMBSTONE_MS,
  type OutboxEntry,
  type OutboxStore,
} from "../store/outbox_store.ts";
import type { AttemptOutcome } from "./http_delivery.ts";

export interface AttemptContext {
  /** The entry's id: the same for every attempt, across restarts. */
  deliveryId: string;
  /** 1 for the first attempt; counted in the store, so across restarts too. */
  attempt: number;
  /** Aborts when the process shuts down and the grace period is over. */
  signal: AbortSignal;
}

/** One way out (a webhook, Web Push): how to attempt an entry, and how to retry it. */
export interface OutboxChannel {
  /** One try with the entry's payload; a throw counts as "retry". */
  attempt(payload: string, context: AttemptContext): Promise<AttemptOutcome>;
  /** Attempts in all, the first included. */
  maxAttempts: number;
  /** Wait before the first retry; doubled for each next one, ±20 % jitter. */
  baseDelayMs: number;
  /** Longest wait between two attempts; a receiver's `Retry-After` may ask for longer. */
  maxDelayMs: number;
}

export interface DispatcherOptions {
  /** Attempts running at once (default 8). */
  concurrency?: number;
  /** How long a claimed entry is this process's (default 30 s): longer than any attempt. */
  leaseMs?: number;
  /** Longest sleep between two looks at the store (default 1 s). */
  pollMs?: number;
}

/** The longest `Retry-After` obeyed (a receiver asking for more gets this). */
const MAX_RETRY_AFTER_MS = 3_600_000;
/** How often finished entries past OUTBOX_TOMBSTONE_MS are dropped. */
const PURGE_EVERY_MS = 3_600_000;

export class OutboxDispatcher {
  private readonly running = new Set<Promise<void>>();
  private readonly abort = new AbortController();
  private readonly options: Required<DispatcherOptions>;
  private loop: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  /** A wake-up came while the loop was busy: its next sleep is skipped. */
  private woken = false;
  private closed = false;

  constructor(
    private readonly store: OutboxStore,
    private readonly channels: Readonly<Record<string, OutboxChannel>>,
    private readonly log: Logger,
    options: DispatcherOptions = {},
  ) {
    this.options = { concurrency: 8, leaseMs: 30_000, pollMs: 1000, ...options };
    for (const [name, channel] of Object.entries(channels)) {
      if (channel.maxAttempts < 1) {
        throw new RangeError(
          `${name}: 'maxAttempts' must be >= 1: current value is ${channel.maxAttempts}`,
        );
      }
    }
  }

  /**
   * Stores the entries (an id already there is left as it is) and wakes the
   * loop; resolves once they are stored, so a caller that awaits it knows they
   * survive a crash.
   */
  async enqueue(entries: readonly NewOutboxEntry[]): Promise<void> {
    if (entries.length === 0) return;
    await this.store.add(entries, Date.now());
    this.wake();
  }

  /** Starts the loop (once). */
  start(): void {
    if (this.closed) return;
    this.loop ??= this.run();
  }

  /**
   * Stops claiming; attempts under way get `graceMs` to finish, then are
   * aborted and left due at once. Everything not done stays in the store and
   * runs after the next start.
   */
  async close(graceMs = 2000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.wake();
    await this.loop;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const grace = new Promise<void>((resolve) => timer = setTimeout(resolve, graceMs));
    await Promise.race([Promise.allSettled([...this.running]), grace]);
    clearTimeout(timer);
    this.abort.abort();
    await Promise.allSettled([...this.running]);
  }

  private wake(): void {
    this.woken = true;
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    let lastPurge = 0;
    while (!this.closed) {
      let sleepMs = this.options.pollMs;
      try {
        const free = this.options.concurrency - this.running.size;
        const now = Date.now();
        if (free > 0) {
          const next = await this.store.nextDue();
          if (next !== null && next <= now && !this.closed) {
            const claimed = await this.store.claim(now, free, this.options.leaseMs);
            for (const entry of claimed) this.track(entry);
            // Maybe more are due: look again once a slot frees up (a finished run wakes the loop).
            if (claimed.length > 0) continue;
          } else if (next !== null) {
            sleepMs = Math.min(sleepMs, next - now);
          }
        }
        if (now - lastPurge >= PURGE_EVERY_MS) {
          lastPurge = now;
          const purged = await this.store.purge(now - OUTBOX_TOMBSTONE_MS);
          if (purged > 0) this.log.debug("outbox tombstones purged", { count: purged });
        }
      } catch (err) {
        this.log.warn("outbox poll failed", errorFields(err));
      }
      await this.sleep(sleepMs);
    }
  }

  private sleep(ms: number): Promise<void> {
    if (this.closed || this.woken) {
      this.woken = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.woken = false;
        this.wakeUp = undefined;
        resolve();
      };
      const timer = setTimeout(done, Math.max(0, ms));
      this.wakeUp = done;
    });
  }

  private track(entry: OutboxEntry): void {
    const run = this.attempt(entry).finally(() => {
      this.running.delete(run);
      this.wake();
    });
    this.running.add(run);
  }

  private async attempt(entry: OutboxEntry): Promise<void> {
    const fields = { deliveryId: entry.id, channel: entry.channel, attempt: entry.attempts };
    const channel = this.channels[entry.channel];
    try {
      if (!channel) {
        // Queued while that channel was configured; it is not any more.
        this.log.warn("outbox entry dropped: its channel is not configured", fields);
        return await this.store.finish(entry.id, Date.now());
      }
      let outcome: AttemptOutcome;
      try {
        outcome = await channel.attempt(entry.payload, {
          deliveryId: entry.id,
          attempt: entry.attempts,
          signal: this.abort.signal,
        });
      } catch (err) {
        outcome = { status: "retry", reason: String(errorFields(err).err) };
      }
      if (this.abort.signal.aborted && outcome.status === "retry") {
        // Cut off by the shutdown: first in line after the restart.
        return await this.store.retryAt(entry.id, Date.now());
      }
      if (outcome.status === "done") return await this.store.finish(entry.id, Date.now());
      const reason = { ...fields, reason: outcome.reason };
      if (outcome.status === "failed") {
        this.log.warn("outbox delivery refused", reason);
        return await this.store.finish(entry.id, Date.now());
      }
      if (entry.attempts >= channel.maxAttempts) {
        this.log.warn("outbox delivery gave up", reason);
        return await this.store.finish(entry.id, Date.now());
      }
      const delayMs = delayBefore(channel, entry.attempts, outcome.retryAfterMs);
      this.log.debug("outbox delivery will retry", { ...reason, delayMs });
      await this.store.retryAt(entry.id, Date.now() + delayMs);
    } catch (err) {
      // The store failed: the lease runs out and the entry is attempted again.
      this.log.warn("outbox store update failed", { ...fields, ...errorFields(err) });
    }
  }
}

/**
 * The wait after attempt `attempts` failed: exponential with ±20 % jitter,
 * capped at the channel's `maxDelayMs`; a receiver's Retry-After is a floor.
 */
export function delayBefore(
  channel: Pick<OutboxChannel, "baseDelayMs" | "maxDelayMs">,
  attempts: number,
  retryAfterMs = 0,
): number {
  const exponential = channel.baseDelayMs * 2 ** (attempts - 1) * (0.8 + Math.random() * 0.4);
  const backoff = Math.min(channel.maxDelayMs, exponential);
  return Math.round(Math.max(backoff, Math.min(retryAfterMs, MAX_RETRY_AFTER_MS)));
}
