/**
 * The chat rules, written once for both doors (REST and sockets): who may send
 * as whom, read which history, mark or delete which message. Edits, reactions,
 * blocks, reports and mutes are services of their own, reached through this one.
 */
import { AppError } from "../errors.ts";
import type {
  ChatMessage,
  ConversationRow,
  GroupConversationRow,
  ReadReceiptPayload,
  UserSummary,
} from "../protocol/types.ts";
import type {
  ChatHistoryInput,
  SearchQuery,
  SendMessageInput,
  TypingInput,
} from "../schemas/inputs.ts";
import {
  type ChatStore,
  type HistoryQuery,
  type PageQuery,
  quoteOf,
  type User,
} from "../store/repository.ts";
import { BlockService } from "./block_service.ts";
import type { Broadcaster } from "./broadcaster.ts";
import { EditService } from "./edit_service.ts";
import { GroupService } from "./group_service.ts";
import type { MessageHooks } from "./message_hooks.ts";
import { SendOrder } from "./send_order.ts";
import { checkedFile, completeSend } from "./send_steps.ts";
import { MuteService } from "./mute_service.ts";
import { ReactionService } from "./reaction_service.ts";
import { ReportService } from "./report_service.ts";

/**
 * The domain's outbound port for new messages: to every connected device of the
 * receiver, each asked to acknowledge (src/realtime/live_delivery.ts).
 */
export interface LiveDelivery {
  deliver(receiverId: string, message: ChatMessage): void;
  /** A group message to each of these members (every member but its sender), handed over once. */
  deliverToMany(receiverIds: readonly string[], message: ChatMessage): void;
}

export interface SendResult {
  message: ChatMessage;
  duplicate: boolean;
}

export interface ChatOptions {
  /** `EDIT_WINDOW_MS`: how long after sending a message may be edited; 0: always. */
  editWindowMs?: number;
  /** `MAX_GROUP_MEMBERS`: members of one group, its creator included. */
  maxGroupMembers?: number;
}

export class ChatService {
  readonly blocks: BlockService;
  readonly edits: EditService;
  readonly reactions: ReactionService;
  readonly reports: ReportService;
  readonly mutes: MuteService;
  readonly groups: GroupService;

  /** One sender's messages are stored in the order they arrived (send_order.ts). */
  private readonly sendOrder = new SendOrder();

  constructor(
    private readonly store: ChatStore,
    private readonly notify: Broadcaster,
    private readonly delivery: LiveDelivery,
    /** Attachments, push notifications and the events webhook plug in here (message_hooks.ts). */
    private readonly hooks: MessageHooks = {},
    options: ChatOptions = {},
  ) {
    this.blocks = new BlockService(store, notify);
    this.groups = new GroupService(
      store,
      notify,
      delivery,
      hooks,
      this.sendOrder,
      options.maxGroupMembers,
    );
    this.edits = new EditService(
      store,
      notify,
      this.blocks,
      this.groups,
      hooks,
      options.editWindowMs,
    );
    this.reactions = new ReactionService(store, notify, this.blocks, this.groups);
    this.reports = new ReportService(store, hooks);
    this.mutes = new MuteService(store);
  }

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
    if (input.groupId !== undefined) {
      return this.groups.send(callerId, { ...input, groupId: input.groupId }, answered);
    }
    const receiverId = input.receiverId;
    if (receiverId === undefined) {
      throw new AppError("VALIDATION_ERROR", "exactly one of receiverId and groupId is required");
    }
    if (receiverId === callerId) {
      throw new AppError("VALIDATION_ERROR", "receiverId: cannot send a message to yourself");
    }
    const { written } = await this.sendOrder.inOrder(callerId, async () => {
      // The host app's users are never created here: only one stored there may receive.
      if (this.store.users.hostUsers && !await this.store.users.get(receiverId)) {
        throw new AppError("NOT_FOUND", "Receiver not found");
      }
      await this.blocks.assertCanMessage(callerId, receiverId);
      const replyTo = input.replyTo === undefined
        ? null
        : await this.quoted(callerId, receiverId, input.replyTo);
      const file = await checkedFile(this.hooks, callerId, input.file);
      // Issued in arrival order, not awaited here: the sender's next send prepares meanwhile.
      return {
        written: this.store.messages.insert({
          senderId: callerId,
          receiverId,
          text: input.text ? input.text : null,
          file,
          clientMessageId: input.clientMessageId ?? null,
          replyTo,
        }),
      };
    });
    return await completeSend(
      { hooks: this.hooks, notify: this.notify },
      callerId,
      answered,
      written,
      (message) => this.delivery.deliver(receiverId, message),
    );
  }

  async typing(callerId: string, input: TypingInput): Promise<void> {
    if (input.groupId !== undefined) {
      return await this.groups.typing(callerId, input.groupId, input.isTyping);
    }
    const receiverId = input.receiverId;
    if (receiverId === undefined || receiverId === callerId) return;
    await this.blocks.assertCanMessage(callerId, receiverId);
    this.notify.toUsers([receiverId], "userTyping", {
      userId: callerId,
      isTyping: input.isTyping,
    });
  }

  async history(callerId: string, input: ChatHistoryInput): Promise<ChatMessage[]> {
    const { userId1, userId2, groupId, ...page } = input;
    if (groupId !== undefined) return await this.groups.history(callerId, groupId, page);
    if (userId1 === undefined || userId2 === undefined) {
      throw new AppError("VALIDATION_ERROR", "either userId1 and userId2, or groupId, is required");
    }
    if (callerId !== userId1 && callerId !== userId2) {
      throw new AppError("FORBIDDEN", "You can only read conversations you take part in");
    }
    // What the caller deleted for themselves is left out.
    return await this.conversationPage(userId1, userId2, { ...page, viewerId: callerId });
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
    if (message.groupId) {
      throw new AppError(
        "VALIDATION_ERROR",
        "messageId: a group message is marked read with markGroupRead",
      );
    }
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
    // A group message's members hear of it; a sender who left keeps no access to it.
    const audience = message.groupId
      ? await this.groups.audienceOf(callerId, { ...message, groupId: message.groupId })
      : [message.senderId, message.receiverId!];
    if (!await this.store.messages.delete(messageId)) {
      throw new AppError("NOT_FOUND", "Message not found");
    }
    this.notify.toUsers(audience, "messageDeleted", { messageId });
    await this.hooks.deleted?.(message);
  }

  /**
   * Delete for me: the message leaves the caller's history, lists, search and
   * unread count; the other user keeps it. Only the caller's sockets are told.
   */
  async deleteForMe(callerId: string, messageId: string): Promise<void> {
    const result = await this.store.messages.hideForUser(messageId, callerId);
    if (!result.ok) {
      if (result.reason === "not_found") throw new AppError("NOT_FOUND", "Message not found");
      throw new AppError("FORBIDDEN", "You can only delete messages of your own conversations");
    }
    if (result.changed) this.notify.toUsers([callerId], "messageDeleted", { messageId });
  }

  /**
   * The caller's messages holding every word of `q`, newest first: 1:1 ones
   * and those of the caller's groups, merged by id (ids sort by arrival);
   * `with` keeps to one 1:1 conversation.
   */
  async search(callerId: string, query: SearchQuery): Promise<ChatMessage[]> {
    const page = { limit: query.limit, before: query.before };
    const direct = this.store.messages.search(callerId, query.q, { ...page, with: query.with });
    if (query.with !== undefined) return await direct;
    const [mine, grouped] = await Promise.all([
      direct,
      this.store.groups.search(callerId, query.q, page),
    ]);
    return [...mine, ...grouped].sort((x, y) => (x._id < y._id ? 1 : x._id > y._id ? -1 : 0))
      .slice(0, query.limit);
  }

  myChats(callerId: string, page: PageQuery): Promise<ChatMessage[]> {
    return this.store.messages.listForUser(callerId, page);
  }

  /** 1:1 conversations and groups together, most recent first; 1:1 rows keep their shape. */
  async conversations(
    callerId: string,
    page: PageQuery,
  ): Promise<(ConversationRow | GroupConversationRow)[]> {
    // The blocks need no row: read with them, so that only the profiles wait for the rows.
    const [rows, blocked] = await Promise.all([
      this.store.groups.conversations(callerId, page),
      this.store.blocks.blockedEitherWay(callerId),
    ]);
    const partners = rows.flatMap((row) => row.kind === "direct" ? [row.partnerId] : []);
    const users = await this.store.users.getMany(partners);
    const hidden = new Set(blocked);
    return rows.map((row) => {
      const { lastMessage, unreadCount, muted, mutedUntil } = row;
      if (row.kind === "group") {
        return { group: row.group, lastMessage, unreadCount, muted, mutedUntil };
      }
      const user = summarize(row.partnerId, users.get(row.partnerId), hidden.has(row.partnerId));
      return { user, lastMessage, unreadCount, muted, mutedUntil };
    });
  }

  /** The snapshot a reply stores of the message it quotes, which must be of the same conversation. */
  private async quoted(senderId: string, receiverId: string, messageId: string) {
    const message = await this.store.messages.get(messageId);
    const sameConversation = message !== null &&
      ((message.senderId === senderId && message.receiverId === receiverId) ||
        (message.senderId === receiverId && message.receiverId === senderId));
    if (!sameConversation) {
      throw new AppError("VALIDATION_ERROR", "replyTo: not a message of this conversation");
    }
    return quoteOf(message);
  }

  private async existing(messageId: string): Promise<ChatMessage> {
    const message = await this.store.messages.get(messageId);
    if (!message) throw new AppError("NOT_FOUND", "Message not found");
    return message;
  }
}

/** `blocked`: a block stands between the two, so the partner shows offline, never seen. */
function summarize(userId: string, user: User | undefined, blocked: boolean): UserSummary {
  return {
    _id: userId,
    username: user?.username ?? null,
    isOnline: !blocked && (user?.isOnline ?? false),
    lastSeen: blocked ? null : user?.lastSeen ?? null,
  };
}
