/**
 * Limits on Engine.IO handshakes, which come before any token is seen: each
 * one creates a session that holds memory until it authenticates or times
 * out. The per-IP `handshake` bucket is spent before a session exists (in
 * `allowRequest`, after the origin and host checks), and at most
 * `maxPending` sessions may wait unauthenticated at once. When that many
 * wait, a new handshake closes the oldest if it has waited `STALE_PENDING_MS`
 * (a real client authenticates well within it), and is refused otherwise
 * (clients retry with backoff): a flood from many addresses churns through
 * its own sessions, while a reconnect storm of real clients is slowed, not
 * broken.
 */
import type { IncomingMessage } from "node:http";
import { clientAddress } from "../auth/client_address.ts";
import { AppError, type ErrorReport, toErrorBody } from "../errors.ts";
import type { RateLimiter } from "../limits/rate_limiter.ts";
import type { ParleyServer } from "./io.ts";

export interface HandshakeGateOptions {
  limiter: RateLimiter;
  trustProxy: boolean;
  /** `MAX_PENDING_SESSIONS`. */
  maxPending: number;
  /** Each refused handshake is counted here; Engine.IO answers 403 with the error's text. */
  report: ErrorReport;
}

// `close(true)` discards the transport: a polling session nobody polls closes now, not in 30 s.
type EngineConnection = {
  close(discard?: boolean): void;
  once(event: "close", fn: () => void): void;
};

/** A session unauthenticated this long is fair game for a new handshake when the bound is reached. */
const STALE_PENDING_MS = 2000;
/** Longest an allowed handshake may take to become a session before its slot is given back. */
const RESERVATION_MS = 1000;

export function gateHandshakes(io: ParleyServer, options: HandshakeGateOptions): void {
  const engine = io.engine;
  const checks = engine.opts.allowRequest;
  // Unauthenticated sessions and when each opened, oldest first (a Map keeps insertion order).
  const pending = new Map<EngineConnection, number>();
  // Handshakes allowed whose session Engine.IO has not created yet (it does so a turn later),
  // oldest first; each slot is given back when its session appears, or when its timer fires.
  const reserved = new Set<ReturnType<typeof setTimeout>>();

  /** Room for one more session: true when under the bound or a stale one was closed for it. */
  const room = () => {
    if (pending.size + reserved.size < options.maxPending) return true;
    const [oldest] = pending;
    if (!oldest || Date.now() - oldest[1] < STALE_PENDING_MS) return false;
    pending.delete(oldest[0]);
    oldest[0].close(true);
    return true;
  };

  engine.opts.allowRequest = function handshakeGate(req, callback) {
    const refuse = (err: unknown) => callback(toErrorBody(err, options.report).error, false);
    const spend = () => {
      const ip = clientAddress(
        req.socket.remoteAddress,
        (req as IncomingMessage).headers["x-forwarded-for"],
        options.trustProxy,
      );
      options.limiter.consume("handshake", ip).then(
        (decision) => {
          if (!decision.allowed) return refuse(new AppError("RATE_LIMITED", "rate limited"));
          // Checked here, last: Engine.IO creates the session in the same turn, so concurrent
          // handshakes cannot all pass the bound before any of them counts.
          if (!room()) {
            return refuse(
              new AppError("RATE_LIMITED", "too many sessions waiting to authenticate"),
            );
          }
          const slot = setTimeout(() => reserved.delete(slot), RESERVATION_MS);
          reserved.add(slot);
          callback(null, true);
        },
        refuse,
      );
    };
    if (!checks) return spend();
    // The host and origin checks of createIo(), which count their own refusals.
    checks(req, (err, allowed) => (allowed ? spend() : callback(err, false)));
  };

  engine.on("connection", (connection: EngineConnection) => {
    const [slot] = reserved;
    if (slot !== undefined) {
      clearTimeout(slot);
      reserved.delete(slot);
    }
    pending.set(connection, Date.now());
    connection.once("close", () => pending.delete(connection));
  });
  io.on("connection", (socket) => pending.delete(socket.conn));
}
