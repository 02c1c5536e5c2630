/**
 * Groups on SQLite: each call is one operation of group_operations.ts, run by
 * the database workers. Message ids come from the chat store's own sequence
 * (sqlite_chat_store.ts), so that 1:1 and group messages share one id order.
 */
import { monotonicFactory, type ULIDFactory } from "ulid";
import { type GroupRepository, mergeConversations } from "../group_store.ts";
import type { SqliteConnection } from "./connection.ts";
import { newMessage } from "./new_message.ts";

export function sqliteGroupStore(
  db: SqliteConnection,
  nextMessageId: ULIDFactory,
): GroupRepository {
  const nextGroupId = monotonicFactory();
  return {
    createGroup: (input) => db.write("createGroup", { id: nextGroupId(), input }),
    get: (groupId) => db.read("getGroup", { groupId }),
    addMembers: (groupId, userIds, at, options = {}) =>
      db.write("addGroupMembers", { groupId, userIds, at, ...options }),
    removeMember: (groupId, userId, at) => db.write("removeGroupMember", { groupId, userId, at }),
    rename: (groupId, name, at) => db.write("renameGroup", { groupId, name, at }),
    groupsOf: (userId) => db.read("groupsOf", { userId }),
    isMember: (groupId, userId) => db.read("isGroupMember", { groupId, userId }),

    insertMessage(input) {
      const message = newMessage(nextMessageId, input, {
        receiverId: null,
        groupId: input.groupId,
      });
      return db.write("insertGroupMessage", { message });
    },
    async history(groupId, query) {
      return (await db.read("groupHistory", { groupId, ...query })).reverse();
    },
    async conversations(userId, query) {
      const wanted = { limit: query.skip + query.limit, skip: 0 };
      const [direct, groups] = await Promise.all([
        db.read("conversations", { userId, ...wanted }),
        db.read("groupConversations", {
          userId,
          limit: wanted.limit,
          at: new Date().toISOString(),
        }),
      ]);
      return mergeConversations(direct, groups, query);
    },
    markRead: (groupId, userId, messageId, at) =>
      db.write("markGroupRead", { groupId, userId, messageId, at }),
    reads: (groupId, messageId) => db.read("groupReads", { groupId, messageId }),
    undelivered: (userId, query) => db.read("groupUndelivered", { userId, ...query }),
    acknowledge: (groupId, userId, messageId) =>
      db.write("acknowledgeGroup", { groupId, userId, messageId }),
    search: (userId, q, query) => db.read("searchGroups", { userId, q, ...query }),
    mute: (groupId, userId, until) => db.write("muteGroup", { groupId, userId, until }),
    unmute: (groupId, userId) => db.write("unmuteGroup", { groupId, userId }),
    isMuted: (groupId, userId, at) => db.read("isGroupMuted", { groupId, userId, at }),
  };
}
