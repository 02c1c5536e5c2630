/**
 * The chat on SQLite: each repository call is one operation of
 * operations.ts, run by the database workers (connection.ts). Message ids are
 * monotonic ULIDs taken here, in call order; writes commit in that order, so
 * id order is arrival order.
 */
import { monotonicFactory, type ULIDFactory } from "ulid";
import type {
  BlockRepository,
  ChatStore,
  HistoryQuery,
  MessageRepository,
  MuteRepository,
  NewMessage,
  PageQuery,
  ReportRepository,
  User,
  UserRepository,
} from "../repository.ts";
import type { SqliteConnection } from "./connection.ts";
import { newMessage } from "./new_message.ts";
import { sqliteGroupStore } from "./sqlite_group_store.ts";

export function sqliteChatStore(db: SqliteConnection): ChatStore {
  // One id sequence for 1:1 and group messages: id order is arrival order across both.
  const nextMessageId = monotonicFactory();
  return {
    kind: "sqlite",
    users: sqliteUsers(db),
    messages: sqliteMessages(db, nextMessageId),
    groups: sqliteGroupStore(db, nextMessageId),
    blocks: sqliteBlocks(db),
    reports: sqliteReports(db),
    mutes: sqliteMutes(db),
  };
}

function sqliteUsers(db: SqliteConnection): UserRepository {
  return {
    upsertProfile: (userId, profile) => db.write("upsertProfile", { userId, ...profile }),
    setPresence: (userId, isOnline, lastSeen) =>
      db.write("setPresence", { userId, isOnline, lastSeen }),
    markAllOffline: (lastSeen) => db.write("markAllOffline", { lastSeen }),
    async get(userId) {
      return (await db.read("getUsers", { userIds: [userId] }))[0] ?? null;
    },
    async getMany(userIds) {
      const users = new Map<string, User>();
      if (userIds.length === 0) return users;
      for (const user of await db.read("getUsers", { userIds })) users.set(user._id, user);
      return users;
    },
  };
}

function sqliteMessages(db: SqliteConnection, nextId: ULIDFactory): MessageRepository {
  return {
    insert(input: NewMessage) {
      const message = newMessage(nextId, input, { receiverId: input.receiverId, groupId: null });
      return db.write("insertMessage", { message });
    },
    get: (messageId) => db.read("getMessage", { messageId }),
    async history(userA: string, userB: string, query: HistoryQuery) {
      return (await db.read("history", { userA, userB, ...query })).reverse();
    },
    listForUser: (userId: string, query: PageQuery) => db.read("listForUser", { userId, ...query }),
    markRead: (messageId, readAt) => db.write("markRead", { messageId, readAt }),
    markDelivered: (messageId, deliveredAt) =>
      db.write("markDelivered", { messageId, deliveredAt }),
    undelivered: (receiverId, query) => db.read("undelivered", { receiverId, ...query }),
    delete: (messageId) => db.write("deleteMessage", { messageId }),
    conversations: (userId, query) => db.read("conversations", { userId, ...query }),
    partnersOf: (userId) => db.read("partnersOf", { userId }),
    editMessage: (messageId, senderId, text, editedAt, options = {}) =>
      db.write("editMessage", { messageId, senderId, text, editedAt, ...options }),
    addReaction: (messageId, userId, emoji) =>
      db.write("react", { messageId, userId, emoji, add: true }),
    removeReaction: (messageId, userId, emoji) =>
      db.write("react", { messageId, userId, emoji, add: false }),
    search: (userId, q, query) => db.read("search", { userId, q, ...query }),
    hideForUser: (messageId, userId) =>
      db.write("hideForUser", { messageId, userId, hiddenAt: new Date().toISOString() }),
    allForUser: (userId, query) => db.read("allForUser", { userId, ...query }),
  };
}

function sqliteBlocks(db: SqliteConnection): BlockRepository {
  return {
    block: (blockerId, blockedId, blockedAt) =>
      db.write("block", { blockerId, blockedId, blockedAt }),
    unblock: (blockerId, blockedId) => db.write("unblock", { blockerId, blockedId }),
    listBlocked: (blockerId) => db.read("listBlocked", { blockerId }),
    isBlocked: (userA, userB) => db.read("isBlocked", { userA, userB }),
    blockedEitherWay: (userId) => db.read("blockedEitherWay", { userId }),
  };
}

function sqliteReports(db: SqliteConnection): ReportRepository {
  const nextId = monotonicFactory();
  return {
    report: (input) => db.write("report", { id: nextId(), input }),
    list: (query) => db.read("listReports", query),
    listForUser: (userId, query) => db.read("reportsForUser", { userId, ...query }),
  };
}

function sqliteMutes(db: SqliteConnection): MuteRepository {
  return {
    mute: (userId, partnerId, until) => db.write("mute", { userId, partnerId, until }),
    unmute: (userId, partnerId) => db.write("unmute", { userId, partnerId }),
    isMuted: (userId, partnerId, at) => db.read("isMuted", { userId, partnerId, at }),
    listForUser: (userId) => db.read("mutesForUser", { userId }),
  };
}
