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
