/**
 * The outbox: outgoing deliveries (webhook calls, Web Push requests, events)
 * kept in the store until they succeed or give up, so that a restart or a
 * kill -9 loses none. Each backend implements this beside its chat store
 * (src/store/sqlite/, src/store/mongo/); src/push/outbox_dispatcher.ts runs
 * the entries.
 *
 * An entry is leased, not taken: `claim` moves its due time a lease ahead,
 * atomically, so that two nodes never run one entry at once, and an entry
 * whose process died mid-delivery runs again once the lease is over.
 *
 * A finished entry stays as a tombstone (its payload dropped) for a while, so
 * that adding the same id again (a client resending a message with the same
 * `clientMessageId`) makes no second delivery.
 */

export interface NewOutboxEntry {
  /** Unique; the receiver sees it (`X-Parley-Delivery`) and dedupes on it. */
  id: string;
  /** Which channel delivers it (`webhook`, `webpush`, `events`). */
  channel: string;
  /** What the channel needs, as JSON text. */
  payload: string;
}

export interface OutboxEntry extends NewOutboxEntry {
  /** Attempts started so far, this claim's included. */
  attempts: number;
}

export interface OutboxStore {
  /** Queues the entries, due at `now`; an id already present (queued or finished) is left as it is. */
  add(entries: readonly NewOutboxEntry[], now: number): Promise<void>;
  /**
   * Leases at most `limit` entries due by `now`, earliest first: each one's due
   * time becomes `now + leaseMs` and its attempts one more, in one atomic step per entry.
   */
  claim(now: number, limit: number, leaseMs: number): Promise<OutboxEntry[]>;
  /** The entry is done with (delivered, refused or given up): kept as a tombstone only. */
  finish(id: string, now: number): Promise<void>;
  /** The entry runs again at `dueAt` (epoch ms). */
  retryAt(id: string, dueAt: number): Promise<void>;
  /** The earliest due time of an unfinished entry (epoch ms); null when there is none. */
  nextDue(): Promise<number | null>;
  /** Drops tombstones finished before `before`; resolves with how many. */
  purge(before: number): Promise<number>;
}

/** How long a finished entry's id is remembered (a client's resend comes within this). */
export const OUTBOX_TOMBSTONE_MS = 7 * 86_400_000;
