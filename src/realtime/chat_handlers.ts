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
import { type EventContext, onEvent } from "./event_handler.ts";
import type { ParleySocket } from "./io.ts";

export function registerChatHandlers(
  socket: ParleySocket,
  chat: ChatService,
  context: EventContext,
): void {
  const caller = socket.data.userId;

  // Kept for clients of the brief: the token already decided who this is.
  onEvent(socket, context, "setUserId", UserId, (userId) => {
    if (userId !== caller) {
      throw new AppError("FORBIDDEN", "setUserId must match the authenticated user");
    }
    return { userId };
  });

  // With an ack the answer travels in it; a broadcast of the same to this socket
  // would only cost a packet each way (README, "Socket.IO events").
  onEvent(socket, context, "sendMessage", SendMessageInput, async (input, { acked }) => {
    const { message, duplicate } = await chat.sendMessage(
      caller,
      input,
      acked ? socket.id : undefined,
    );
    return duplicate ? { message, duplicate } : { message };
  });

  onEvent(socket, context, "typing", TypingInput, async (input) => {
    await chat.typing(caller, input);
    return {};
  });

  onEvent(socket, context, "getChatHistory", ChatHistoryInput, async (input) => {
    const messages = await chat.history(caller, input);
    socket.emit("chatHistory", messages);
    return { messages };
  });

  onEvent(socket, context, "messageRead", MessageReadInput, ({ messageId }, { acked }) => {
    return chat.markRead(caller, messageId, acked ? socket.id : undefined);
  });
}
