/**
 * The filter and sort of every read the MongoDB repository makes, in one place,
 * so that tests/mongo_indexes_test.ts can `explain()` exactly these shapes and
 * prove each one is served by an index from indexes.ts.
 */
import type { ObjectId, Sort } from "mongodb";

export interface QueryShape {
  collection: "messages" | "conversations" | "users";
  filter: Record<string, unknown>;
  sort?: Sort;
}

/** Live messages only: tombstones of deleted messages carry `deletedAt`. */
export const LIVE = { deletedAt: { $exists: false } };

export const queries = {
  messageById: (_id: ObjectId): QueryShape => ({
    collection: "messages",
    filter: { _id, ...LIVE },
  }),
  history: (conversationId: string, before?: ObjectId): QueryShape => ({
    collection: "messages",
    filter: before ? { conversationId, _id: { $lt: before } } : { conversationId },
    sort: { _id: -1 },
  }),
  myChats: (userId: string): QueryShape => ({
    collection: "messages",
    filter: { participants: userId },
    sort: { _id: -1 },
  }),
  byClientId: (senderId: string, clientMessageId: string): QueryShape => ({
    collection: "messages",
    filter: { senderId, clientMessageId },
  }),
  undelivered: (receiverId: string, after?: ObjectId): QueryShape => ({
    collection: "messages",
    filter: after
      ? { receiverId, deliveredAt: null, _id: { $gt: after } }
      : { receiverId, deliveredAt: null },
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
};
