/** Blocking and unblocking over sockets (REST: src/http/users_routes.ts). */
import type { ChatService } from "../chat/chat_service.ts";
import { BlockUserInput } from "../schemas/inputs.ts";
import { type EventContext, onEvent } from "./event_handler.ts";
import type { ParleySocket } from "./io.ts";

export function registerBlockHandlers(
  socket: ParleySocket,
  chat: ChatService,
  context: EventContext,
): void {
  const caller = socket.data.userId;

  onEvent(socket, context, "blockUser", BlockUserInput, ({ userId }) => {
    return chat.blocks.block(caller, userId);
  });

  onEvent(socket, context, "unblockUser", BlockUserInput, ({ userId }) => {
    return chat.blocks.unblock(caller, userId);
  });
}
