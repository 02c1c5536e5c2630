/** Authenticates sockets, wires their events, and reports them to presence. */
import { socketAuth } from "../auth/socket_auth.ts";
import type { TokenVerifier } from "../auth/tokens.ts";
import type { ChatService } from "../chat/chat_service.ts";
import type { PresenceService } from "../chat/presence.ts";
import { errorFields, type Logger } from "../log.ts";
import { registerChatHandlers } from "./chat_handlers.ts";
import type { InFlight } from "./in_flight.ts";
import type { MessageDelivery } from "./message_delivery.ts";
import { type ParleyServer, type ParleySocket, userRoom } from "./io.ts";

export interface ConnectionDeps {
  verifier: TokenVerifier;
  chat: ChatService;
  presence: PresenceService;
  delivery: MessageDelivery;
  inFlight: InFlight;
  log: Logger;
}

export function acceptConnections(io: ParleyServer, deps: ConnectionDeps): void {
  io.use(socketAuth(deps.verifier, (socket, identity) => {
    Object.assign(socket.data, identity);
  }));

  io.on("connection", (socket: ParleySocket) => {
    const { userId } = socket.data;
    // Listeners first and synchronously: events sent right after connect are not lost.
    registerChatHandlers(socket, deps.chat, deps);
    socket.join(userRoom(userId));
    void deps.delivery.catchUp(socket);
    socket.on("disconnect", () => deps.presence.disconnected(userId));
    deps.presence.connected(socket.data).catch((err) =>
      deps.log.error("presence connect failed", { userId, ...errorFields(err) })
    );
    deps.log.debug("socket connected", { userId, socketId: socket.id });
  });
}
