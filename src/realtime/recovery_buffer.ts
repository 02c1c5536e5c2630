/**
 * The room broadcasts kept for connection state recovery: at most
 * `RECOVERY_BUFFER_BYTES` of them, none older than `RECOVERY_WINDOW_MS`, kept
 * as bytes outside the garbage-collected heap (record_ring.ts).
 *
 * Socket.IO's own in-memory adapter keeps every room broadcast as objects and
 * prunes once a minute: at 500 messages/s, hundreds of megabytes of objects that
 * live just long enough to reach the old generation and die there, so the
 * process's memory swings by more than the buffer itself holds (the soak in
 * BENCHMARKS.md). Here each broadcast is one JSON record in a fixed buffer.
 *
 * A connection that comes back after a broadcast it missed left the buffer is
 * not recovered: it starts a new session, and its messages come from the
 * store's catch-up, as after any longer absence; only the room broadcasts
 * (receipts, typing, presence) are not replayed. A cluster keeps them in Redis
 * instead (the streams adapter, with its own bound) and never builds this one.
 * Parley's events carry JSON only (no binary attachments), which is what a
 * record can hold.
 */
import { Adapter, SessionAwareAdapter } from "socket.io-adapter";
import { RecordRing } from "./record_ring.ts";

export interface RecoveryBound {
  /** `RECOVERY_WINDOW_MS`: the age past which a broadcast is no longer replayed. */
  windowMs: number;
  /** `RECOVERY_BUFFER_BYTES`: bytes of broadcasts kept at most. */
  maxBytes: number;
}

/** The smallest record the slots are counted for (an event name, its payload and an offset). */
const MIN_RECORD_BYTES = 64;

/** A kept broadcast: who it went to, and what. */
type KeptBroadcast = [rooms: string[], except: string[], data: unknown[]];

/** What the parent class keeps of a disconnected socket (a private field), as far as read here. */
interface PersistedSession {
  disconnectedAt: number;
  rooms: string[];
}

// The parent's `restoreSession` resolves with a session or null; its type says Session only.
type RestoreSession = SessionAwareAdapter["restoreSession"];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The adapter class for `new Server({ adapter })`. */
export function boundedRecoveryAdapter(bound: RecoveryBound): typeof SessionAwareAdapter {
  return class BoundedRecoveryAdapter extends SessionAwareAdapter {
    private readonly kept = new RecordRing(
      bound.maxBytes,
      Math.max(1, Math.floor(bound.maxBytes / MIN_RECORD_BYTES)),
    );

    override broadcast(...args: Parameters<SessionAwareAdapter["broadcast"]>): void {
      const [packet, opts] = args;
      // As the parent: events without an ack, not volatile, get an offset (their last argument).
      if (packet.type === 2 && packet.id === undefined && opts.flags?.volatile === undefined) {
        const now = Date.now();
        this.kept.dropOlderThan(now - bound.windowMs);
        const record: KeptBroadcast = [[...opts.rooms], [...(opts.except ?? [])], packet.data];
        // The offset is the record's number; it goes into the data after the record is made.
        const seq = this.kept.append(now, encoder.encode(JSON.stringify(record)));
        packet.data.push(seq.toString(36));
      }
      // The plain adapter's broadcast: the parent's would keep the packet as objects again.
      Adapter.prototype.broadcast.apply(this, args);
    }

    override restoreSession(
      ...[pid, offset]: Parameters<RestoreSession>
    ): ReturnType<RestoreSession> {
      const sessions = (this as unknown as { sessions: Map<string, PersistedSession> }).sessions;
      const session = sessions.get(pid);
      const refused = null as unknown as ReturnType<RestoreSession>;
      if (!session) return refused;
      if (session.disconnectedAt + bound.windowMs < Date.now()) {
        sessions.delete(pid);
        return refused;
      }
      const seen = /^[0-9a-z]{1,11}$/.test(offset) ? parseInt(offset, 36) : NaN;
      const records = this.kept.after(seen);
      if (!records) return refused;
      const missedPackets: unknown[][] = [];
      records.forEach((bytes, i) => {
        const [rooms, except, data] = JSON.parse(decoder.decode(bytes)) as KeptBroadcast;
        const included = rooms.length === 0 || session.rooms.some((room) => rooms.includes(room));
        if (!included || session.rooms.some((room) => except.includes(room))) return;
        // The offset each had when it was sent: the next recovery resumes from it.
        data.push((seen + 1 + i).toString(36));
        missedPackets.push(data);
      });
      return Promise.resolve({ ...session, missedPackets }) as unknown as ReturnType<
        RestoreSession
      >;
    }
  };
}
