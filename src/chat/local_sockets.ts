/**
 * The sockets a user has on this process, and the grace period after its last
 * one closes (against page-reload flapping). Shared by single-node and cluster
 * presence, which differ only in what "online anywhere" means.
 */
export class LocalSockets {
  private readonly sockets = new Map<string, number>();
  private readonly pendingOffline = new Map<string, ReturnType<typeof setTimeout>>();

  constructor(private readonly graceMs: number) {}

  /** Counts a new socket; `resumed` when the user came back inside its grace period. */
  add(userId: string): { count: number; resumed: boolean } {
    const count = (this.sockets.get(userId) ?? 0) + 1;
    this.sockets.set(userId, count);
    const pending = this.pendingOffline.get(userId);
    if (pending !== undefined) {
      clearTimeout(pending);
      this.pendingOffline.delete(userId);
    }
    return { count, resumed: pending !== undefined };
  }

  /**
   * Counts a closed socket. True when it was the user's last: then `afterGrace`
   * runs once the grace period passes without a new socket.
   */
  remove(userId: string, afterGrace: (userId: string) => void): boolean {
    const count = (this.sockets.get(userId) ?? 1) - 1;
    if (count > 0) {
      this.sockets.set(userId, count);
      return false;
    }
    this.sockets.delete(userId);
    const timer = setTimeout(() => {
      this.pendingOffline.delete(userId);
      if (!this.sockets.has(userId)) afterGrace(userId);
    }, this.graceMs);
    this.pendingOffline.set(userId, timer);
    return true;
  }

  /** The user has a socket here now (grace period not included). */
  has(userId: string): boolean {
    return this.sockets.has(userId);
  }

  /** The user has a socket here, or is inside its grace period. */
  isOnline(userId: string): boolean {
    return this.sockets.has(userId) || this.pendingOffline.has(userId);
  }

  /** Users with a socket here now. */
  connectedUsers(): IterableIterator<string> {
    return this.sockets.keys();
  }

  /** Users inside their grace period. */
  waitingUsers(): IterableIterator<string> {
    return this.pendingOffline.keys();
  }

  /** Users with a socket here, or inside their grace period. */
  get onlineCount(): number {
    return this.sockets.size + this.pendingOffline.size;
  }

  /** Cancels every grace period (shutdown) and returns the users that were waiting. */
  endGracePeriods(): string[] {
    const users = [...this.pendingOffline.keys()];
    for (const timer of this.pendingOffline.values()) clearTimeout(timer);
    this.pendingOffline.clear();
    return users;
  }
}
