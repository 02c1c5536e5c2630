import { Server, type Socket } from "socket.io";
import { AppError, type ErrorReport, toErrorBody } from "../errors.ts";
import { type HostPolicy, isHostAllowed } from "../hosts.ts";
import { boundedRecoveryAdapter, type RecoveryBound } from "./recovery_buffer.ts";
import { type AllowedOrigins, isOriginAllowed } from "../auth/origins.ts";
import type {
  ChatMessage,
  ClientToServerEvents,
  ServerToClientEvents,
  SocketData,
} from "../protocol/types.ts";

/** Events between the nodes of a cluster (`io.serverSideEmit`); clients never see them. */
export interface PeerEvents {
  /** A message was stored on another node: deliver it to the receiver's sockets here. */
  deliverMessage(receiverId: string, message: ChatMessage): void;
  /** A group message was stored on another node: deliver it to these members' sockets here. */
  deliverToMany(receiverIds: string[], message: ChatMessage): void;
}

export type ParleyServer = Server<
  ClientToServerEvents,
  ServerToClientEvents,
  PeerEvents,
  SocketData
>;
export type ParleySocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  PeerEvents,
  SocketData
>;

export interface IoOptions {
  corsOrigins: AllowedOrigins;
  hosts: HostPolicy;
  /** Larger frames close that client's connection (Socket.IO's default is 1 MB). */
  maxPayloadBytes: number;
  /** How long a dropped connection may come back with its rooms and missed broadcasts, and how many it is kept. */
  recovery: RecoveryBound;
  /** Handshakes refused for their host or origin are counted here. */
  report: ErrorReport;
}

/** Every socket of a user joins its room: one emit reaches every tab and device. */
export function userRoom(userId: string): string {
  return `user:${userId}`;
}

/**
 * The Socket.IO server, not yet attached to an HTTP server (`io.attach()`), so
 * that the parts that emit through it can be built before the HTTP app is.
 */
export function createIo(options: IoOptions): ParleyServer {
  const origins = options.corsOrigins;
  return new Server({
    cors: { origin: origins === "*" ? "*" : [...origins] },
    // A browser page from another origin, or reaching this server by a foreign
    // name (DNS rebinding), cannot even open the connection (Engine.IO answers 403).
    allowRequest(req, callback) {
      const refusal = !isHostAllowed(req.headers.host, options.hosts)
        ? "Host not allowed"
        : !isOriginAllowed(req.headers.origin, req.headers.host, origins)
        ? "Origin not allowed"
        : undefined;
      if (refusal === undefined) return callback(null, true);
      callback(toErrorBody(new AppError("FORBIDDEN", refusal), options.report).error, false);
    },
    maxHttpBufferSize: options.maxPayloadBytes,
    // A session that has not authenticated within this long is closed (Socket.IO's default: 45 s).
    connectTimeout: 10_000,
    serveClient: true,
    // 0: no recovery, and no buffer of room broadcasts kept for it.
    ...(options.recovery.windowMs > 0
      ? {
        adapter: boundedRecoveryAdapter(options.recovery),
        connectionStateRecovery: {
          maxDisconnectionDuration: options.recovery.windowMs,
          // A recovered socket still proves its token again.
          skipMiddlewares: false,
        },
      }
      : {}),
  });
}
