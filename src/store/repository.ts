/**
 * The storage contract of the chat. Each backend (SQLite, MongoDB) implements
 * it in its own folder, and one shared test suite (tests/store_contract.ts)
 * runs against every backend.
 */
import type { ChatMessage, FileAttachment, QuotedMessage } from "../protocol/types.ts";
import type { GroupRepository } from "./group_store.ts";

/** What storing a delivery tells its caller: whom to tell, and when it was. */
export interface DeliveryReceipt {
  senderId: string;
  /** Null on a group message (its members' deliveries are pointers, not receipts). */
  receiverId: string | null;
  deliveredAt: string;
}

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
  /**
   * A reply's snapshot of the quoted message ({@linkcode quoteOf}), stored as
   * given. The quoted message must be live and in the same conversation, else
   * the insert throws VALIDATION_ERROR.
   */
  replyTo?: QuotedMessage | null;
}

/** Most characters of the quoted text a reply keeps. */
export const QUOTED_TEXT_CHARS = 200;

/** The snapshot a reply to `message` stores: its first 200 characters, its file's name and type. */
export function quoteOf(message: ChatMessage): QuotedMessage {
  return {
    _id: message._id,
    senderId: message.senderId,
    // By code point: a surrogate pair is never cut in half.
    text: message.text === null
      ? null
      : Array.from(message.text).slice(0, QUOTED_TEXT_CHARS).join(""),
    file: message.file && { name: message.file.name, type: message.file.type },
  };
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
  /** Leaves out the messages this user deleted for themselves (hideForUser). */
  viewerId?: string;
}

export interface PageQuery {
  limit: number;
  skip: number;
}

/** Cursor paging forwards, oldest first: the next `limit` after the `after` id. */
export interface ForwardPage {
  limit: number;
  after?: string;
}

/** One row of a user's conversation list, kept up to date on every write. */
export interface ConversationSummary {
  partnerId: string;
  lastMessage: ChatMessage | null;
  unreadCount: number;
  /** The user muted this conversation (mutes.mute), and the mute has not ended. */
  muted: boolean;
  /** When the mute ends; null when open-ended or not muted. */
  mutedUntil: string | null;
}

/** Why an edit changed nothing. A deleted message is `not_found`: it is gone. */
export type EditRefusal = "not_found" | "not_sender" | "too_late";

export type EditResult =
  | { ok: true; message: ChatMessage }
  | { ok: false; reason: EditRefusal };

export interface EditOptions {
  /** Refuse (`too_late`) when the message was created before this time (the edit window). */
  createdAfter?: string;
}

/** Most distinct emoji on one message; a new one beyond them is refused. */
export const MAX_REACTION_EMOJI = 20;

/**
 * Why a reaction changed nothing: the message is gone, the user is neither its
 * sender nor its receiver, or it already carries MAX_REACTION_EMOJI other emoji.
 */
export type ReactionRefusal = "not_found" | "not_participant" | "too_many_emoji";

export type ReactionResult =
  /** `changed: false`: a repeat (already there, or already absent); nothing was written. */
  | { ok: true; changed: boolean; message: ChatMessage }
  | { ok: false; reason: ReactionRefusal };

export interface SearchQuery {
  /** Only the conversation with this user. */
  with?: string;
  limit: number;
  /** Only messages older than this id (cursor paging). */
  before?: string;
}

export type HideRefusal = "not_found" | "not_participant";

export type HideResult =
  /** `changed: false`: it was already hidden for this user. */
  | { ok: true; changed: boolean; message: ChatMessage }
  | { ok: false; reason: HideRefusal };

export interface UserRepository {
  /**
   * True when users are the host app's own documents (MONGODB_USERS_COLLECTION):
   * they are never created here, so only a user stored there may receive messages.
   */
  readonly hostUsers?: boolean;
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
  /**
   * Sets `deliveredAt` once; null when the message is unknown or was already delivered.
   * Answers with the receipt only: every message a device acknowledges passes here.
   */
  markDelivered(messageId: string, deliveredAt: string): Promise<DeliveryReceipt | null>;
  /** Messages to the user not yet delivered, oldest first, after the `after` id. */
  undelivered(receiverId: string, query: { limit: number; after?: string }): Promise<ChatMessage[]>;
  /** Removes the message everywhere; false when it did not exist. */
  delete(messageId: string): Promise<boolean>;
  /** The user's conversations, most recent first. */
  conversations(userId: string, query: PageQuery): Promise<ConversationSummary[]>;
  /** Every user that shares a conversation with this one. */
  partnersOf(userId: string): Promise<string[]>;
  /**
   * Changes the text of the sender's message and sets `editedAt` (and
   * `updatedAt`) to `editedAt`. Replies that quote it keep their snapshot.
   */
  editMessage(
    messageId: string,
    senderId: string,
    text: string,
    editedAt: string,
    options?: EditOptions,
  ): Promise<EditResult>;
  /** Adds the user's `emoji` to the message, by its sender or receiver; one of each per user. */
  addReaction(messageId: string, userId: string, emoji: string): Promise<ReactionResult>;
  /** Takes the user's `emoji` off the message. */
  removeReaction(messageId: string, userId: string, emoji: string): Promise<ReactionResult>;
  /**
   * The user's own messages (sent or received, not hidden for them) whose text
   * holds every word of `q`, case-insensitively, newest first. Words are runs
   * of letters and digits ({@linkcode searchWords}); a `q` with none finds
   * nothing. The encrypted store refuses with SEARCH_UNAVAILABLE.
   */
  search(userId: string, q: string, query: SearchQuery): Promise<ChatMessage[]>;
  /**
   * Delete for me: hides the message from this participant's history (with
   * `viewerId`), listForUser, search, undelivered, conversation row and
   * unread count; the other participant still sees it.
   */
  hideForUser(messageId: string, userId: string): Promise<HideResult>;
  /**
   * Every message the user sent or received, those they hid for themselves
   * included, oldest first by id, after `query.after` (the data-subject export
   * pages through it).
   */
  allForUser(userId: string, query: ForwardPage): Promise<ChatMessage[]>;
}

/**
 * The words of a search query or a message, as both backends match them:
 * runs of letters, digits and marks, lower-cased, Latin letters without their
 * accents (what SQLite FTS5's `remove_diacritics` folds: "cafe" finds "café";
 * Greek and Cyrillic keep theirs). SQLite's index applies its own tokenizer
 * to these words; the MongoDB index stores them.
 */
export function searchWords(text: string): string[] {
  const folded = text.normalize("NFD").replace(/(\p{Script=Latin})[\u0300-\u036f]+/gu, "$1")
    .normalize("NFC");
  return [...new Set(folded.toLowerCase().match(/[\p{L}\p{N}\p{M}]+/gu) ?? [])];
}

export interface BlockEntry {
  userId: string;
  blockedAt: string;
}

/** Who blocked whom. A block works both ways: `isBlocked` and `blockedEitherWay` see both directions. */
export interface BlockRepository {
  /** `blockerId` blocks `blockedId`; false when already blocked (nothing changes). */
  block(blockerId: string, blockedId: string, blockedAt: string): Promise<boolean>;
  /** False when it was not blocked. */
  unblock(blockerId: string, blockedId: string): Promise<boolean>;
  /** The users `blockerId` blocks, most recently blocked first. */
  listBlocked(blockerId: string): Promise<BlockEntry[]>;
  /** Whether either of the two blocks the other. */
  isBlocked(userA: string, userB: string): Promise<boolean>;
  /** Every user this one blocks or is blocked by (presence and typing skip them). */
  blockedEitherWay(userId: string): Promise<string[]>;
}

export type ReportReason = "spam" | "abuse" | "harassment" | "other";

export interface Report {
  _id: string;
  messageId: string;
  reporterId: string;
  /** The sender of the reported message. */
  reportedUserId: string;
  reason: ReportReason;
  note: string | null;
  /** The message's content when it was reported (kept through later edits and deletes). */
  text: string | null;
  file: FileAttachment | null;
  createdAt: string;
}

export interface NewReport {
  messageId: string;
  reporterId: string;
  reason: ReportReason;
  note: string | null;
  createdAt: string;
}

export type ReportResult =
  /** `created: false`: this user had reported this message already; `report` is that first one. */
  | { ok: true; created: boolean; report: Report }
  /** Only the receiver of a message may report it. */
  | { ok: false; reason: "not_found" | "not_receiver" };

export interface ReportRepository {
  /** One report per user and message; a repeat answers the first. */
  report(input: NewReport): Promise<ReportResult>;
  /** Every report, newest first (for the host app's moderation). */
  list(query: { limit: number; before?: string }): Promise<Report[]>;
  /** Reports the user filed or that name them (`reportedUserId`), oldest first by id. */
  listForUser(userId: string, query: ForwardPage): Promise<Report[]>;
}

export interface MuteRepository {
  /** `userId` mutes the conversation with `partnerId` until `until` (null: until unmuted); replaces an earlier mute. */
  mute(userId: string, partnerId: string, until: string | null): Promise<void>;
  /** False when it was not muted. */
  unmute(userId: string, partnerId: string): Promise<boolean>;
  /** Whether `userId` mutes the conversation with `partnerId` at `at` (push notifications skip it). */
  isMuted(userId: string, partnerId: string, at: string): Promise<boolean>;
  /** The conversations the user muted (ended mutes included until unmuted), by partner id. */
  listForUser(userId: string): Promise<MuteEntry[]>;
}

export interface MuteEntry {
  partnerId: string;
  /** When the mute ends; null: until unmuted. */
  until: string | null;
}

/** The chat's part of a backend (backend.ts opens and closes it with the rest). */
export interface ChatStore {
  readonly kind: "sqlite" | "mongo";
  readonly users: UserRepository;
  readonly messages: MessageRepository;
  readonly blocks: BlockRepository;
  readonly reports: ReportRepository;
  readonly mutes: MuteRepository;
  readonly groups: GroupRepository;
}
