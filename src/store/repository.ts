/**
 * The storage contract of the chat. Each backend (SQLite, MongoDB) implements
 * it in its own folder, and one shared test suite (tests/store_contract.ts)
 * runs against every backend.
 */
import type { ChatMessage, FileAttachment } from "../protocol/types.ts";

export interface User {
  _id: string;
  username: string | null;
  email: string | null;
  isOnline: boolean;
  lastSeen: string | null;
  createdAt: string;
  updatedAt: string;
}

export interface UserProfile {
  username?: string;
  email?: string;
}

export interface NewMessage {
  senderId: string;
  receiverId: string;
  text: string | null;
  file: FileAttachment | null;
  clientMessageId: string | null;
}

export interface InsertResult {
  message: ChatMessage;
  duplicate: boolean;
}

export interface HistoryQuery {
  limit: number;
  skip: number;
  /** Only messages older than this id (cursor paging). */
  before?: string;
}

export interface PageQuery {
  limit: number;
  skip: number;
}

/** One row of a user's conversation list, kept up to date on every write. */
export interface ConversationSummary {
  partnerId: string;
  lastMessage: ChatMessage | null;
  unreadCount: number;
}

export interface UserRepository {
  /** Creates the user on first sight; fills profile fields that are given. */
  upsertProfile(userId: string, profile: UserProfile): Promise<User>;
  setPresence(userId: string, isOnline: boolean, lastSeen: string): Promise<void>;
  /**
   * Sets every user stored online offline, with `lastSeen` moved up to `lastSeen`
   * (never back in time); resolves with how many users changed. For the start-up
   * of a single node, before it accepts connections: whoever is stored online
   * then was left so by a process that died without marking them offline.
   */
  markAllOffline(lastSeen: string): Promise<number>;
  get(userId: string): Promise<User | null>;
  getMany(userIds: readonly string[]): Promise<Map<string, User>>;
}

export interface MessageRepository {
  /**
   * Stores a message durably; resolves only after the write is committed.
   * A repeat of `(senderId, clientMessageId)` stores nothing and resolves with
   * the original (`duplicate: true`); a repeat of a deleted one throws DELETED.
   */
  insert(message: NewMessage): Promise<InsertResult>;
  get(messageId: string): Promise<ChatMessage | null>;
  /** One page of a conversation, in chronological order (oldest first). */
  history(userA: string, userB: string, query: HistoryQuery): Promise<ChatMessage[]>;
  /** Messages the user sent or received, newest first. */
  listForUser(userId: string, query: PageQuery): Promise<ChatMessage[]>;
  /** Sets `readAt` once (and `deliveredAt`, if still unset); null when unknown or already read. */
  markRead(messageId: string, readAt: string): Promise<ChatMessage | null>;
  /** Sets `deliveredAt` once; null when the message is unknown or was already delivered. */
  markDelivered(messageId: string, deliveredAt: string): Promise<ChatMessage | null>;
  /** Messages to the user not yet delivered, oldest first, after the `after` id. */
  undelivered(receiverId: string, query: { limit: number; after?: string }): Promise<ChatMessage[]>;
  /** Removes the message everywhere; false when it did not exist. */
  delete(messageId: string): Promise<boolean>;
  /** The user's conversations, most recent first. */
  conversations(userId: string, query: PageQuery): Promise<ConversationSummary[]>;
  /** Every user that shares a conversation with this one. */
  partnersOf(userId: string): Promise<string[]>;
}

/** The chat's part of a backend (backend.ts opens and closes it with the rest). */
export interface ChatStore {
  readonly kind: "sqlite" | "mongo";
  readonly users: UserRepository;
  readonly messages: MessageRepository;
}
