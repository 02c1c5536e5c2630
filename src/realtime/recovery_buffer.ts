/**
 * The room broadcasts kept for connection state recovery, bounded in time and
 * in number.
 *
 * Socket.IO's own in-memory adapter keeps every room broadcast and prunes
 * once a minute, so it holds the recovery window plus up to a minute of
 * traffic, and more with every message a second: at 500 messages/s, hundreds
 * of megabytes. Here a broadcast leaves the buffer as soon as it is older than
 * the window or more than `maxPackets` newer ones exist. A connection that
 * comes back after its offset left the buffer is not recovered: it starts a new
 * session, and its messages come from the store's catch-up as after any longer
 * absence; only the room broadcasts (receipts, typing, presence) are not
 * replayed. A cluster keeps them in Redis instead (the streams adapter, its own
 * length bound) and never builds this one.
 */
import { SessionAwareAdapter } from "socket.io-adapter";

/** Broadcasts dropped at once: a trim is one `splice`, not one per broadcast. */
const TRIM_CHUNK = 256;

/** What the parent class keeps per broadcast (a private field), as far as the bound reads it. */
interface KeptPacket {
  emittedAt: number;
}

export interface RecoveryBound {
  /** `RECOVERY_WINDOW_MS`: the age past which a broadcast is no longer replayed. */
  windowMs: number;
  /** `RECOVERY_MAX_PACKETS`: broadcasts kept at most (up to `TRIM_CHUNK` more between trims). */
  maxPackets: number;
}

/** The adapter class for `new Server({ adapter })`. */
export function boundedRecoveryAdapter(bound: RecoveryBound): typeof SessionAwareAdapter {
  return class BoundedRecoveryAdapter extends SessionAwareAdapter {
    override broadcast(...args: Parameters<SessionAwareAdapter["broadcast"]>): void {
      super.broadcast(...args);
      this.trim();
    }

    private trim(): void {
      const packets = (this as unknown as { packets: KeptPacket[] }).packets;
      const excess = packets.length - bound.maxPackets;
      const threshold = Date.now() - bound.windowMs;
      // Trimmed once a chunk is over the bound or past the window (the oldest chunk's newest is).
      const chunkEnd = packets[TRIM_CHUNK - 1];
      if (excess < TRIM_CHUNK && (chunkEnd === undefined || chunkEnd.emittedAt >= threshold)) {
        return;
      }
      packets.splice(0, Math.max(excess, expiredPrefix(packets, threshold)));
    }
  };
}

/** How many of the packets, oldest first (their `emittedAt` only grows), are older than `threshold`. */
export function expiredPrefix(packets: KeptPacket[], threshold: number): number {
  let low = 0;
  let high = packets.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (packets[mid]!.emittedAt < threshold) low = mid + 1;
    else high = mid;
  }
  return low;
}
