import type { Server as HttpServer } from "node:http";
import { Server, type Socket } from "socket.io";
import { type HostPolicy, isHostAllowed } from "../hosts.ts";
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
  /** How long a dropped connection may come back with its rooms and missed broadcasts. */
  recoveryWindowMs: number;
}

/** Every socket of a user joins its room: one emit reaches every tab and device. */
export function userRoom(userId: string): string {
  return `user:${userId}`;
}

export function createIo(httpServer: HttpServer, options: IoOptions): ParleyServer {
  const origins = options.corsOrigins;
  return new Server(httpServer, {
    cors: { origin: origins === "*" ? "*" : [...origins] },
    // A browser page from another origin, or reaching this server by a foreign
    // name (DNS rebinding), cannot even open the connection.
    allowRequest: (req, callback) =>
      callback(
        null,
        isHostAllowed(req.headers.host, options.hosts) &&
          isOriginAllowed(req.headers.origin, req.headers.host, origins),
      ),
    maxHttpBufferSize: options.maxPayloadBytes,
    // A session that has not authenticated within this long is closed (Socket.IO's default: 45 s).
    connectTimeout: 10_000,
    serveClient: true,
    connectionStateRecovery: {
      maxDisconnectionDuration: options.recoveryWindowMs,
      // A recovered socket still proves its token again.
      skipMiddlewares: false,
    },
  });
}
