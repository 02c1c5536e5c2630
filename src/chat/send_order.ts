/**
 * Keeps one sender's messages in the order they arrived.
 *
 * A send checks things before it writes (a block, the receiver, a group's
 * members, a quoted message), and those reads may answer out of order (a
 * MongoDB pool runs them side by side). Message ids are given in the order
 * the writes are issued, so a fast sender's second message could be stored
 * before its first. Each sender's sends therefore prepare one at a time, in
 * arrival order, up to the moment the write is issued; the writes themselves
 * still run together (and batch in one SQLite commit). Different senders
 * never wait for each other.
 */
export class SendOrder {
  /** The tail of each sender's chain; removed when the sender's last send is through. */
  private readonly tails = new Map<string, Promise<unknown>>();

  /**
   * Runs `prepare` after this sender's earlier ones; resolves with what it
   * returns. `prepare` should return the write it issued without awaiting it,
   * so the next send can prepare while this one is written.
   */
  inOrder<T>(senderId: string, prepare: () => Promise<T>): Promise<T> {
    const previous = this.tails.get(senderId) ?? Promise.resolve();
    const turn = previous.then(prepare);
    const tail = turn.then(() => undefined, () => undefined);
    this.tails.set(senderId, tail);
    void tail.then(() => {
      if (this.tails.get(senderId) === tail) this.tails.delete(senderId);
    });
    return turn;
  }
}
