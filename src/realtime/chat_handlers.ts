/** The brief's client events, each validated and handed to the domain. */
import { AppError } from "../errors.ts";
import type { ChatService } from "../chat/chat_service.ts";
import {
  ChatHistoryInput,
  MessageReadInput,
  SendMessageInput,
  TypingInput,
  UserId,
} from "../schemas/inputs.ts";
import { parseInput } from "../schemas/parse.ts";
import { type EventContext, onEvent } from "./event_handler.ts";
import type { ParleySocket } from "./io.ts";

export function registerChatHandlers(
  socket: ParleySocket,
  chat: ChatService,
  context: EventContext,
): void {
  const caller = socket.data.userId;

  // Kept for clients of the brief: the token already decided who this is.
  onEvent(socket, "setUserId", context, (payload) => {
    const userId = parseInput(UserId, payload);
    if (userId !== caller) {
      throw new AppError("FORBIDDEN", "setUserId must match the authenticated user");
    }
    return { userId };
  });

  onEvent(socket, "sendMessage", context, async (payload) => {
    const { message, duplicate } = await chat.sendMessage(
      caller,
      parseInput(SendMessageInput, payload),
    );
    return duplicate ? { message, duplicate } : { message };
  });

  onEvent(socket, "typing", context, (payload) => {
    chat.typing(caller, parseInput(TypingInput, payload));
    return {};
  });

  onEvent(socket, "getChatHistory", context, async (payload) => {
    const messages = await chat.history(caller, parseInput(ChatHistoryInput, payload));
    socket.emit("chatHistory", messages);
    return { messages };
  });

  onEvent(socket, "messageRead", context, (payload) => {
    const { messageId } = parseInput(MessageReadInput, payload);
    return chat.markRead(caller, messageId);
  });
}
