/**
 * Runs jobs one at a time, in the order they were queued.
 *
 * The MongoDB repository sends every write to the `conversations` collection
 * through one of these (send batches, reads, deletes): FerretDB applies
 * `$inc`/`$max`/`$set` as a non-atomic read-modify-write, so two updates of
 * one row in flight at once from this process could lose one of them.
 *
 * A job must not wait for another job of the same queue: it would wait forever.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `job` once every job queued before it has settled; settles as `job` does. */
  run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.tail.then(job);
    // The next job waits for this one whatever its outcome.
    this.tail = result.then(() => {}, () => {});
    return result;
  }
}

/**
 * One {@linkcode SerialQueue} per key, made on demand and dropped once idle:
 * jobs of one key run one at a time, jobs of different keys concurrently.
 *
 * The MongoDB repository runs every change of one message (read, delivery
 * receipt, delete) and of one user (profile, presence) through one of these:
 * FerretDB runs `findAndModify` as a query followed by a write of the whole
 * document, so two changes of one document in flight at once could both see
 * it unchanged (both count a read, a receipt brings back a deleted message, a
 * profile update brings back an old `isOnline`). MongoDB changes one document
 * atomically; there this only queues the rare concurrent writes of one
 * document behind each other.
 */
export class KeyedSerialQueue {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `job` once every job queued before it under `key` has settled; settles as `job` does. */
  run<T>(key: string, job: () => Promise<T>): Promise<T> {
    const result = (this.tails.get(key) ?? Promise.resolve()).then(job);
    const tail = result.then(() => {}, () => {});
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
