/**
 * The chat rules, written once for both doors (REST and sockets): who may send
 * as whom, read which history, mark or delete which message.
 */
import { AppError } from "../errors.ts";
import type {
  ChatMessage,
  ConversationRow,
  ReadReceiptPayload,
  UserSummary,
} from "../protocol/types.ts";
import type { ChatHistoryInput, SendMessageInput, TypingInput } from "../schemas/inputs.ts";
import type { ChatStore, HistoryQuery, PageQuery, User } from "../store/repository.ts";
import type { Broadcaster } from "./broadcaster.ts";
import type { MessageHooks } from "./message_hooks.ts";

/**
 * The domain's outbound port for new messages: to every connected device of the
 * receiver, each asked to acknowledge (src/realtime/live_delivery.ts).
 */
export interface LiveDelivery {
  deliver(receiverId: string, message: ChatMessage): void;
}

export interface SendResult {
  message: ChatMessage;
  duplicate: boolean;
}

export class ChatService {
  constructor(
    private readonly store: ChatStore,
    private readonly notify: Broadcaster,
    private readonly delivery: LiveDelivery,
    /** Attachments and push notifications plug in here (message_hooks.ts). */
    private readonly hooks: MessageHooks = {},
  ) {}

  /**
   * Stores the message, then confirms to the sender and delivers to the receiver.
   * `answered`: the sender's connection that gets the result in its ack, so
   * `messageSent` goes to the sender's other connections only.
   */
  async sendMessage(
    callerId: string,
    input: SendMessageInput,
    answered?: string,
  ): Promise<SendResult> {
    if (input.senderId !== undefined && input.senderId !== callerId) {
      throw new AppError("FORBIDDEN", "senderId must be the authenticated user");
    }
    if (input.receiverId === callerId) {
      throw new AppError("VALIDATION_ERROR", "receiverId: cannot send a message to yourself");
    }
    const file = input.file && this.hooks.checkFile
      ? await this.hooks.checkFile(callerId, input.file)
      : input.file;
    const result = await this.store.messages.insert({
      senderId: callerId,
      receiverId: input.receiverId,
      text: input.text ? input.text : null,
      file: file ?? null,
      clientMessageId: input.clientMessageId ?? null,
    });
    await this.hooks.stored?.(result.message);
    if (!result.duplicate) {
      this.delivery.deliver(input.receiverId, result.message);
      this.hooks.sent?.(result.message);
    }
    this.notify.toUsersExcept(answered, [callerId], "messageSent", result.message);
    return result;
  }

  typing(callerId: string, input: TypingInput): void {
    if (input.receiverId === callerId) return;
    this.notify.toUsers([input.receiverId], "userTyping", {
      userId: callerId,
      isTyping: input.isTyping,
    });
  }

  history(callerId: string, input: ChatHistoryInput): Promise<ChatMessage[]> {
    if (callerId !== input.userId1 && callerId !== input.userId2) {
      throw new AppError("FORBIDDEN", "You can only read conversations you take part in");
    }
    return this.conversationPage(input.userId1, input.userId2, input);
  }

  conversationPage(userA: string, userB: string, query: HistoryQuery): Promise<ChatMessage[]> {
    return this.store.messages.history(userA, userB, query);
  }

  /**
   * Marks a message read by its receiver; a repeat changes and notifies nothing.
   * `answered`: the reader's connection that gets the receipt in its ack, left out.
   */
  async markRead(
    callerId: string,
    messageId: string,
    answered?: string,
  ): Promise<ReadReceiptPayload> {
    const message = await this.existing(messageId);
    if (message.receiverId !== callerId) {
      throw new AppError("FORBIDDEN", "Only the receiver can mark a message read");
    }
    if (message.readAt) {
      await this.hooks.read?.(message);
      return { messageId, readerId: callerId, readAt: message.readAt };
    }
    const updated = await this.store.messages.markRead(messageId, new Date().toISOString());
    // null: a concurrent read won, or the message was deleted meanwhile.
    const current = updated ?? await this.existing(messageId);
    const receipt = { messageId, readerId: callerId, readAt: current.readAt! };
    if (updated) {
      this.notify.toUsersExcept(answered, [message.senderId, callerId], "messageRead", receipt);
    }
    await this.hooks.read?.(current);
    return receipt;
  }

  async deleteMessage(callerId: string, messageId: string): Promise<void> {
    const message = await this.existing(messageId);
    if (message.senderId !== callerId) {
      throw new AppError("FORBIDDEN", "Only the sender can delete a message");
    }
    if (!await this.store.messages.delete(messageId)) {
      throw new AppError("NOT_FOUND", "Message not found");
    }
    this.notify.toUsers([message.senderId, message.receiverId], "messageDeleted", { messageId });
    await this.hooks.deleted?.(message);
  }

  myChats(callerId: string, page: PageQuery): Promise<ChatMessage[]> {
    return this.store.messages.listForUser(callerId, page);
  }

  async conversations(callerId: string, page: PageQuery): Promise<ConversationRow[]> {
    const rows = await this.store.messages.conversations(callerId, page);
    const users = await this.store.users.getMany(rows.map((row) => row.partnerId));
    return rows.map((row) => ({
      user: summarize(row.partnerId, users.get(row.partnerId)),
      lastMessage: row.lastMessage,
      unreadCount: row.unreadCount,
    }));
  }

  private async existing(messageId: string): Promise<ChatMessage> {
    const message = await this.store.messages.get(messageId);
    if (!message) throw new AppError("NOT_FOUND", "Message not found");
    return message;
  }
}

function summarize(userId: string, user: User | undefined): UserSummary {
  return {
    _id: userId,
    username: user?.username ?? null,
    isOnline: user?.isOnline ?? false,
    lastSeen: user?.lastSeen ?? null,
  };
}
