/** Admits sockets (per-IP rate, token), wires their events, and reports them to presence. */
import { clientAddress } from "../auth/client_address.ts";
import { authenticateHandshake } from "../auth/socket_auth.ts";
import type { TokenVerifier } from "../auth/tokens.ts";
import type { ChatService } from "../chat/chat_service.ts";
import type { Presence } from "../chat/presence.ts";
import type { RateLimiter } from "../limits/rate_limiter.ts";
import { AppError, type ErrorReport, toErrorBody } from "../errors.ts";
import { errorReport, type Metrics } from "../metrics/metrics.ts";
import { errorFields, type Logger } from "../log.ts";
import { registerBlockHandlers } from "./block_handlers.ts";
import { registerChatHandlers } from "./chat_handlers.ts";
import { registerGroupHandlers } from "./group_handlers.ts";
import { registerMessageActionHandlers } from "./message_action_handlers.ts";
import { admitIf } from "./connect_error.ts";
import { tokenExpired } from "./event_handler.ts";
import type { InFlight } from "./in_flight.ts";
import type { MessageDelivery } from "./message_delivery.ts";
import { type ParleyServer, type ParleySocket, userRoom } from "./io.ts";
import { gateHandshakes } from "./handshake_gate.ts";
import { SocketCap } from "./socket_cap.ts";

export interface ConnectionDeps {
  verifier: TokenVerifier;
  chat: ChatService;
  presence: Presence;
  delivery: MessageDelivery;
  inFlight: InFlight;
  limiter: RateLimiter;
  metrics: Metrics;
  trustProxy: boolean;
  /** `MAX_SOCKETS_PER_USER`: a user's next socket on this node closes their oldest. */
  maxSocketsPerUser: number;
  /** `MAX_PENDING_SESSIONS`: Engine.IO sessions waiting unauthenticated at once. */
  maxPendingSessions: number;
  log: Logger;
}

/** The longest a timer may wait (setTimeout overflows past 2^31-1 ms). */
const MAX_TIMER_MS = 2_147_483_647;

export function acceptConnections(io: ParleyServer, deps: ConnectionDeps): void {
  // Sampled while clients can be served; the HTTP server's close (shutdown) ends it.
  io.httpServer.once("close", deps.metrics.monitorEventLoop());
  const report = errorReport(deps.metrics, deps.log, "connection check failed");
  gateHandshakes(io, {
    limiter: deps.limiter,
    trustProxy: deps.trustProxy,
    maxPending: deps.maxPendingSessions,
    report,
  });
  io.use(admitIf(report, async function connectionRate(socket) {
    const ip = clientAddress(
      socket.handshake.address,
      socket.handshake.headers["x-forwarded-for"],
      deps.trustProxy,
    );
    const decision = await deps.limiter.consume("connect", ip);
    if (!decision.allowed) {
      throw new AppError("RATE_LIMITED", "Too many connection attempts", decision.retryAfterMs);
    }
  }));
  io.use(admitIf(report, async function tokenAuth(socket) {
    Object.assign(socket.data, await authenticateHandshake(deps.verifier, socket.handshake));
  }));

  const cap = new SocketCap(deps.maxSocketsPerUser, report);
  io.on("connection", (socket: ParleySocket) => {
    const { userId } = socket.data;
    // Listeners first and synchronously: events sent right after connect are not lost.
    registerChatHandlers(socket, deps.chat, deps);
    registerMessageActionHandlers(socket, deps.chat, deps);
    registerBlockHandlers(socket, deps.chat, deps);
    registerGroupHandlers(socket, deps.chat, deps);
    socket.join(userRoom(userId));
    // Before anything else it is sent: who this socket is, whatever claim held the id.
    socket.emit("session", { userId, username: socket.data.username ?? null });
    void deps.delivery.catchUp(socket);
    const expiry = disconnectOnExpiry(socket, report);
    socket.on("disconnect", (reason) => {
      clearTimeout(expiry);
      deps.presence.disconnected(userId);
      deps.log.info("socket disconnected", { userId, socketId: socket.id, reason });
    });
    deps.presence.connected(socket.data).catch((err) =>
      deps.log.error("presence connect failed", { userId, ...errorFields(err) })
    );
    deps.log.info("socket connected", {
      userId,
      socketId: socket.id,
      recovered: socket.recovered,
    });
    cap.admit(socket);
  });
}

/** At the token's `exp`: tell the client why, then disconnect it. It reconnects with a fresh token. */
function disconnectOnExpiry(
  socket: ParleySocket,
  report: ErrorReport,
): ReturnType<typeof setTimeout> | undefined {
  const { expiresAt } = socket.data;
  if (expiresAt === undefined) return undefined;
  const ms = Math.min(MAX_TIMER_MS, Math.max(0, expiresAt * 1000 - Date.now()));
  return setTimeout(() => {
    socket.emit("messageError", toErrorBody(tokenExpired(), report));
    socket.disconnect(true);
  }, ms);
}
