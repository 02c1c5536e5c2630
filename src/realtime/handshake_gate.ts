/**
 * Limits on Engine.IO handshakes, which come before any token is seen: each
 * one creates a session that holds memory until it authenticates or times
 * out. The per-IP `handshake` bucket is spent before a session exists (in
 * `allowRequest`, after the origin and host checks), and at most
 * `maxPending` sessions may wait unauthenticated at once: one more closes the
 * oldest, so a flood from many addresses churns through its own sessions
 * while a real client, which authenticates at once, gets in.
 */
import type { IncomingMessage } from "node:http";
import { clientAddress } from "../auth/client_address.ts";
import type { RateLimiter } from "../limits/rate_limiter.ts";
import type { ParleyServer } from "./io.ts";

export interface HandshakeGateOptions {
  limiter: RateLimiter;
  trustProxy: boolean;
  /** `MAX_PENDING_SESSIONS`. */
  maxPending: number;
}

// `close(true)` discards the transport: a polling session nobody polls closes now, not in 30 s.
type EngineConnection = {
  close(discard?: boolean): void;
  once(event: "close", fn: () => void): void;
};

export function gateHandshakes(io: ParleyServer, options: HandshakeGateOptions): void {
  const engine = io.engine;
  const checks = engine.opts.allowRequest;
  engine.opts.allowRequest = function handshakeGate(req, callback) {
    const spend = () => {
      const ip = clientAddress(
        req.socket.remoteAddress,
        (req as IncomingMessage).headers["x-forwarded-for"],
        options.trustProxy,
      );
      options.limiter.consume("handshake", ip).then(
        (decision) => callback(decision.allowed ? null : "rate limited", decision.allowed),
        () => callback("rate limiter failed", false),
      );
    };
    if (!checks) return spend();
    checks(req, (err, allowed) => (allowed ? spend() : callback(err, false)));
  };

  // Unauthenticated sessions, oldest first (a Set keeps insertion order).
  const pending = new Set<EngineConnection>();
  engine.on("connection", (connection: EngineConnection) => {
    pending.add(connection);
    connection.once("close", () => pending.delete(connection));
    if (pending.size > options.maxPending) {
      const [oldest] = pending;
      pending.delete(oldest!);
      oldest!.close(true);
    }
  });
  io.on("connection", (socket) => pending.delete(socket.conn));
}
