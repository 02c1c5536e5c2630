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

  // With an ack the answer travels in it; a broadcast of the same to this socket
  // would only cost a packet each way (README, "Socket.IO events").
  onEvent(socket, "sendMessage", context, async (payload, { acked }) => {
    const { message, duplicate } = await chat.sendMessage(
      caller,
      parseInput(SendMessageInput, payload),
      acked ? socket.id : undefined,
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

  onEvent(socket, "messageRead", context, (payload, { acked }) => {
    const { messageId } = parseInput(MessageReadInput, payload);
    return chat.markRead(caller, messageId, acked ? socket.id : undefined);
  });
}
