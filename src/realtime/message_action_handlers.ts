/** Edits and reactions over sockets, each validated and handed to the domain. */
import type { ChatService } from "../chat/chat_service.ts";
import { EditMessageInput, ReactionInput } from "../schemas/inputs.ts";
import { type EventContext, onEvent } from "./event_handler.ts";
import type { ParleySocket } from "./io.ts";

export function registerMessageActionHandlers(
  socket: ParleySocket,
  chat: ChatService,
  context: EventContext,
): void {
  const caller = socket.data.userId;

  onEvent(socket, context, "editMessage", EditMessageInput, async (input) => {
    return { message: await chat.edits.edit(caller, input) };
  });

  onEvent(socket, context, "addReaction", ReactionInput, async (input) => {
    return { message: await chat.reactions.add(caller, input) };
  });

  onEvent(socket, context, "removeReaction", ReactionInput, async (input) => {
    return { message: await chat.reactions.remove(caller, input) };
  });
}
