/**
 * The filter and sort of every read the MongoDB repository makes, in one place,
 * so that tests/mongo_indexes_test.ts can `explain()` exactly these shapes and
 * prove each one is served by an index from indexes.ts.
 */
import type { ObjectId, Sort } from "mongodb";
import { idText, type StoredId } from "./stored_ids.ts";

export interface QueryShape {
  collection: "messages" | "conversations" | "users" | "blocks" | "reports" | "mutes";
  filter: Record<string, unknown>;
  sort?: Sort;
}

/** Live messages only: tombstones of deleted messages carry `deletedAt`. */
export const LIVE = { deletedAt: { $exists: false } };

/**
 * Messages the user has not deleted for themselves: a filter applied to what
 * an index found (few messages are hidden), never an index's own key.
 */
export const visibleTo = (userId: string) => ({ hiddenFor: { $ne: userId } });

export const queries = {
  messageById: (_id: ObjectId): QueryShape => ({
    collection: "messages",
    filter: { _id, ...LIVE },
  }),
  history: (conversationId: string, before?: ObjectId, viewerId?: string): QueryShape => ({
    collection: "messages",
    filter: {
      conversationId,
      ...(before ? { _id: { $lt: before } } : {}),
      ...(viewerId === undefined ? {} : visibleTo(viewerId)),
    },
    sort: { _id: -1 },
  }),
  myChats: (userId: string): QueryShape => ({
    collection: "messages",
    filter: { participants: userId, ...visibleTo(userId) },
    sort: { _id: -1 },
  }),
  /** Every key given (the user's, one per word), in one conversation or all, older than `before`. */
  search: (keys: string[], conversationId?: string, before?: ObjectId): QueryShape => ({
    collection: "messages",
    filter: {
      searchKeys: { $all: keys },
      ...(conversationId === undefined ? {} : { conversationId }),
      ...(before ? { _id: { $lt: before } } : {}),
    },
    sort: { _id: -1 },
  }),
  /** The replies that still quote the message in full (a delete drops their `replyToId`). */
  quoting: (messageId: string): QueryShape => ({
    collection: "messages",
    filter: { replyToId: messageId },
  }),
  byClientId: (senderId: StoredId, clientMessageId: string): QueryShape => ({
    collection: "messages",
    filter: { senderId, clientMessageId },
  }),
  undelivered: (receiverId: StoredId, after?: ObjectId): QueryShape => ({
    collection: "messages",
    filter: {
      receiverId,
      deliveredAt: null,
      ...(after ? { _id: { $gt: after } } : {}),
      ...visibleTo(idText(receiverId)),
    },
    sort: { _id: 1 },
  }),
  /** Everything the user sent or received, hidden or not, oldest first (the export). */
  allForUser: (userId: string, after?: ObjectId): QueryShape => ({
    collection: "messages",
    filter: { participants: userId, ...(after ? { _id: { $gt: after } } : {}) },
    sort: { _id: 1 },
  }),
  /** What the user sent to these groups (by their `conversationId`), oldest first (the export). */
  sentToGroups: (conversationIds: string[], senderId: string, after?: ObjectId): QueryShape => ({
    collection: "messages",
    filter: {
      conversationId: { $in: conversationIds },
      senderId,
      ...(after ? { _id: { $gt: after } } : {}),
    },
    sort: { _id: 1 },
  }),
  conversations: (ownerId: string): QueryShape => ({
    collection: "conversations",
    filter: { ownerId },
    sort: { lastMessageId: -1 },
  }),
  lastMessages: (ids: ObjectId[]): QueryShape => ({
    collection: "messages",
    filter: { _id: { $in: ids } },
  }),
  /** Users stored online (start-up of a single node sets them offline). */
  onlineUsers: (): QueryShape => ({
    collection: "users",
    filter: { isOnline: true },
  }),
  usersById: (ids: string[]): QueryShape => ({
    collection: "users",
    filter: { _id: { $in: ids } },
  }),
  blockedBy: (blockerId: string): QueryShape => ({
    collection: "blocks",
    filter: { blockerId },
    sort: { blockedAt: -1, _id: 1 },
  }),
  blockersOf: (blockedId: string): QueryShape => ({
    collection: "blocks",
    filter: { blockedId },
  }),
  reportsNewestFirst: (before?: ObjectId): QueryShape => ({
    collection: "reports",
    filter: before ? { _id: { $lt: before } } : {},
    sort: { _id: -1 },
  }),
  /** Reports filed by or naming the user, oldest first (the export; few: no index of their own). */
  reportsOfUser: (userId: string, after?: ObjectId): QueryShape => ({
    collection: "reports",
    filter: {
      $or: [{ reporterId: userId }, { reportedUserId: userId }],
      ...(after ? { _id: { $gt: after } } : {}),
    },
    sort: { _id: 1 },
  }),
  reportOf: (reporterId: string, messageId: string): QueryShape => ({
    collection: "reports",
    filter: { reporterId, messageId },
  }),
};
