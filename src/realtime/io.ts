import type { Server as HttpServer } from "node:http";
import { Server, type Socket } from "socket.io";
import type {
  ClientToServerEvents,
  InterServerEvents,
  ServerToClientEvents,
  SocketData,
} from "../protocol/types.ts";

export type ParleyServer = Server<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;
export type ParleySocket = Socket<
  ClientToServerEvents,
  ServerToClientEvents,
  InterServerEvents,
  SocketData
>;

export interface IoOptions {
  corsOrigins: "*" | readonly string[];
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
    serveClient: true,
    connectionStateRecovery: {
      maxDisconnectionDuration: options.recoveryWindowMs,
      // A recovered socket still proves its token again.
      skipMiddlewares: false,
    },
  });
}
