/**
 * The storage contract of group conversations (issue 19). Each backend
 * implements it beside its chat store (sqlite/group_operations.ts,
 * mongo/mongo_groups.ts); tests/group_store_contract.ts runs against both.
 *
 * A group message is stored once, whatever the member count: it carries
 * `groupId` and `receiverId: null`, and nothing is written per member when it
 * is sent. What differs per member lives in pointers, one row per member:
 *
 * - the read pointer: the newest message the member has read. A member's
 *   unread count is computed when read, as the group's messages after the
 *   pointer that the member did not send and has not hidden (an index of the
 *   group's messages by id serves it), so that a send costs no write per
 *   member and a read is one write, whatever was sent meanwhile;
 * - the delivered pointer: the newest message a device of the member
 *   acknowledged. Catch-up (`undelivered`) offers what lies after it, so each
 *   message is offered once per member until acknowledged.
 *
 * A member who joins starts with both pointers at the group's newest message:
 * what was sent before is neither unread nor offered again, though history
 * shows it (every member reads the whole history). A member who leaves or is
 * removed loses their row: no history, no catch-up, no search, no reads.
 *
 * `ChatMessage.deliveredAt` and `readAt` of a group message stay null: its
 * per-member state is in the pointers (`reads`).
 */
import type { ChatMessage, FileAttachment, Group, QuotedMessage } from "../protocol/types.ts";
import type { ConversationSummary, HistoryQuery, InsertResult, PageQuery } from "./repository.ts";

/** As the API shows it; members who joined together are in the order they were given. */
export type { Group };

export interface NewGroup {
  name: string;
  ownerId: string;
  /** The members, owner included (put first when missing); repeats are dropped. */
  memberIds: readonly string[];
  createdAt: string;
}

export type AddMembersResult =
  /** `added`: who was not a member before, in the order given (members and repeats left out). */
  | { ok: true; group: Group; added: string[] }
  /** `too_many_members`: the group would exceed `maxMembers`; nobody was added. */
  | { ok: false; reason: "not_found" | "too_many_members" };

export interface RemoveMemberResult {
  group: Group;
  /** False when the user was not a member (nothing changed). */
  removed: boolean;
}

export interface NewGroupMessage {
  groupId: string;
  senderId: string;
  text: string | null;
  file: FileAttachment | null;
  clientMessageId: string | null;
  /** A quote of a live message of this group ({@linkcode quoteOf}), else VALIDATION_ERROR. */
  replyTo?: QuotedMessage | null;
}

/** A group's row in a member's conversation list. */
export interface GroupConversationSummary {
  group: Group;
  /** The newest message the member has not hidden; null before the first. */
  lastMessage: ChatMessage | null;
  /** Messages after the member's read pointer, not sent by them, not hidden by them. */
  unreadCount: number;
  /** The member muted the group, and the mute has not ended. */
  muted: boolean;
  /** When the mute ends; null when open-ended or not muted. */
  mutedUntil: string | null;
}

/** One row of the mixed list: 1:1 rows keep ConversationSummary's shape. */
export type ConversationEntry =
  | ({ kind: "direct" } & ConversationSummary)
  | ({ kind: "group" } & GroupConversationSummary);

export type MarkGroupReadResult =
  /** `moved: false`: the pointer was already at or past the message (nothing written). */
  | { ok: true; moved: boolean; messageId: string; readAt: string }
  /** The message is not one of this group's, or the user is not a member. */
  | { ok: false; reason: "not_found" | "not_member" };

export interface GroupRead {
  userId: string;
  /** When the member's read pointer last moved (to this message or past it). */
  readAt: string;
}

export interface GroupSearchQuery {
  /** Only this group's messages. */
  groupId?: string;
  limit: number;
  /** Only messages older than this id (cursor paging). */
  before?: string;
}

export interface GroupRepository {
  /** Stores a new group; `createdAt` is also its `updatedAt`. */
  createGroup(input: NewGroup): Promise<Group>;
  /** Null when there is no such group (an id of the wrong shape included). */
  get(groupId: string): Promise<Group | null>;
  /**
   * Adds the users who are not members yet, after the current ones, in the
   * order given, all or none: with `maxMembers`, refuses when the group would
   * then have more (checked in the same atomic step as the add).
   */
  addMembers(
    groupId: string,
    userIds: readonly string[],
    at: string,
    options?: { maxMembers?: number },
  ): Promise<AddMembersResult>;
  /**
   * Takes the user out (their pointers and mute go too). When the owner
   * leaves, the member who joined earliest becomes owner, in the same atomic
   * step; the last member leaving leaves the group empty, its owner unchanged.
   * Null when there is no such group.
   */
  removeMember(groupId: string, userId: string, at: string): Promise<RemoveMemberResult | null>;
  /** Null when there is no such group. */
  rename(groupId: string, name: string, at: string): Promise<Group | null>;
  /** The user's groups, most recently changed first. */
  groupsOf(userId: string): Promise<Group[]>;
  isMember(groupId: string, userId: string): Promise<boolean>;

  /**
   * Stores a group message once, as MessageRepository.insert stores a 1:1
   * one (the same per-sender `clientMessageId`: a repeat answers the original,
   * a deleted one throws DELETED). Throws FORBIDDEN when the sender is not a
   * member (checked atomically with the write on SQLite), NOT_FOUND when there
   * is no such group.
   */
  insertMessage(input: NewGroupMessage): Promise<InsertResult>;
  /** One page of the group, in chronological order (oldest first), paged as 1:1 history. */
  history(groupId: string, query: HistoryQuery): Promise<ChatMessage[]>;
  /**
   * The user's 1:1 conversations and groups together, most recent first: a
   * row's time is its last message's, or a group's creation while it has none.
   */
  conversations(userId: string, query: PageQuery): Promise<ConversationEntry[]>;
  /** Moves the member's read pointer to the message, forward only. */
  markRead(
    groupId: string,
    userId: string,
    messageId: string,
    at: string,
  ): Promise<MarkGroupReadResult>;
  /**
   * Every member but the sender whose read pointer is at or past the message,
   * in join order; empty when the message is not one of this group's.
   */
  reads(groupId: string, messageId: string): Promise<GroupRead[]>;
  /**
   * Catch-up: the group messages of every group of the user that lie after
   * the user's delivered pointer in that group (and after `after`), not sent
   * by them, not hidden by them, oldest first.
   */
  undelivered(userId: string, query: { limit: number; after?: string }): Promise<ChatMessage[]>;
  /**
   * A device of the member acknowledged the message: the delivered pointer
   * moves to it, forward only. False when nothing moved (already past it, not
   * a member, not this group's message). Acknowledge in order: an ack of a
   * later message moves the pointer past the earlier ones too.
   */
  acknowledge(groupId: string, userId: string, messageId: string): Promise<boolean>;
  /**
   * Group messages the user may find (member of the group, not hidden by
   * them) whose text holds every word of `q`, newest first, as
   * MessageRepository.search matches 1:1 ones; that one finds no group
   * message. A search of everything runs both with the same `before` and
   * merges by `_id`, newest first (ids sort by arrival in both stores).
   */
  search(userId: string, q: string, query: GroupSearchQuery): Promise<ChatMessage[]>;
  /** The member mutes the group until `until` (null: until unmuted); replaces an earlier mute. */
  mute(groupId: string, userId: string, until: string | null): Promise<void>;
  /** False when it was not muted. */
  unmute(groupId: string, userId: string): Promise<boolean>;
  /** Whether the member mutes the group at `at` (push notifications skip it). */
  isMuted(groupId: string, userId: string, at: string): Promise<boolean>;
}

/** The time a list row sorts by: its last message's, or a group's creation while it has none. */
function activityOf(entry: ConversationEntry): string {
  return entry.lastMessage?.createdAt ??
    (entry.kind === "group" ? entry.group.createdAt : "");
}

/**
 * One page of the mixed list from the first `skip + limit` rows of each kind,
 * each most recent first (both stores page their parts so, then merge here).
 */
export function mergeConversations(
  direct: readonly ConversationSummary[],
  groups: readonly GroupConversationSummary[],
  query: PageQuery,
): ConversationEntry[] {
  const all: ConversationEntry[] = [
    ...direct.map((row) => ({ kind: "direct" as const, ...row })),
    ...groups.map((row) => ({ kind: "group" as const, ...row })),
  ];
  // Messages of one millisecond sort by id (ids sort by arrival).
  const keyed = all.map((entry) => ({
    entry,
    at: `${activityOf(entry)} ${entry.lastMessage?._id ?? ""}`,
  }));
  keyed.sort((x, y) => (x.at < y.at ? 1 : x.at > y.at ? -1 : 0));
  return keyed.slice(query.skip, query.skip + query.limit).map(({ entry }) => entry);
}

/** The first member in join order once `userId` leaves: the next owner when the owner leaves. */
export function nextOwner(group: Group, leaving: string): string {
  if (group.ownerId !== leaving) return group.ownerId;
  return group.memberIds.find((id) => id !== leaving) ?? group.ownerId;
}

/** `memberIds` as stored: owner first when missing, repeats dropped. */
export function initialMembers(input: NewGroup): string[] {
  const ids = input.memberIds.includes(input.ownerId)
    ? input.memberIds
    : [input.ownerId, ...input.memberIds];
  return [...new Set(ids)];
}
