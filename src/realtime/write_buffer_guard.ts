/**
 * Disconnects a socket whose outgoing buffer stays over a bound for too long.
 *
 * Flow control bounds what `receiveMessage` puts in flight, but presence,
 * typing and read receipts are broadcasts with no window: a client that keeps
 * its connection open and stops reading (hostile, or a phone behind a stalled
 * network) would hold every one of them in this process's memory. The buffer
 * is what Engine.IO holds back (its write buffer, while the transport is
 * busy) plus what the WebSocket has accepted and the kernel has not
 * (`bufferedAmount`). A short burst over the bound is normal; only one that
 * lasts `timeoutMs` ends the connection.
 */
import type { Logger } from "../log.ts";
import type { ParleyServer, ParleySocket } from "./io.ts";

export interface WriteBufferBound {
  /** `MAX_WRITE_BUFFER_BYTES`: bytes a socket may hold back. */
  maxBytes: number;
  /** `WRITE_BUFFER_TIMEOUT_MS`: how long it may stay over `maxBytes`. */
  timeoutMs: number;
}

/** Engine.IO's connection, typed only as far as this module reads it. */
interface EngineConnection {
  writeBuffer: { data?: unknown }[];
  transport: { name: string; socket?: { bufferedAmount?: number; terminate?: () => void } };
  close(discard?: boolean): void;
}

/** Bytes the socket has been given and the peer has not taken yet. */
export function bufferedBytes(socket: ParleySocket): number {
  const conn = socket.conn as unknown as EngineConnection;
  let bytes = conn.transport.socket?.bufferedAmount ?? 0;
  for (const packet of conn.writeBuffer) {
    const data = packet.data;
    if (typeof data === "string") bytes += data.length;
    else if (data instanceof Uint8Array || data instanceof ArrayBuffer) bytes += data.byteLength;
  }
  return bytes;
}

/** Checks every socket of this process a few times per `timeoutMs`; stops when the server closes. */
export function guardWriteBuffers(io: ParleyServer, bound: WriteBufferBound, log: Logger): void {
  const overSince = new WeakMap<ParleySocket, number>();
  const interval = Math.max(50, Math.min(1000, Math.floor(bound.timeoutMs / 4)));
  const timer = setInterval(() => {
    const now = Date.now();
    for (const socket of io.sockets.sockets.values()) {
      const bytes = bufferedBytes(socket);
      if (bytes <= bound.maxBytes) {
        overSince.delete(socket);
        continue;
      }
      const since = overSince.get(socket);
      if (since === undefined) {
        overSince.set(socket, now);
        continue;
      }
      if (now - since < bound.timeoutMs) continue;
      log.warn("socket disconnected: its write buffer stayed over MAX_WRITE_BUFFER_BYTES", {
        userId: socket.data.userId,
        socketId: socket.id,
        bufferedBytes: bytes,
        overForMs: now - since,
      });
      drop(socket);
    }
  }, interval);
  io.httpServer.once("close", () => clearInterval(timer));
}

/**
 * Ends the connection without waiting for the buffer to drain: Engine.IO's
 * ordinary close waits for a `drain` that a peer who does not read never
 * gives, and the WebSocket close handshake would wait for that peer too.
 */
function drop(socket: ParleySocket): void {
  const conn = socket.conn as unknown as EngineConnection;
  socket.disconnect(true);
  conn.close(true);
  conn.transport.socket?.terminate?.();
}
