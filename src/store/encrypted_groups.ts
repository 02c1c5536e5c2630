/**
 * Encryption at rest for group messages (encrypted_store.ts does the sealing):
 * what a group message carries is sealed before the group repository sees it
 * and opened on every read, bound to its sender and group. Search refuses
 * (SEARCH_UNAVAILABLE) as it does for 1:1 messages.
 */
import { AppError } from "../errors.ts";
import type { ChatMessage } from "../protocol/types.ts";
import type { GroupRepository, NewGroupMessage } from "./group_store.ts";

export interface MessageSealing {
  /** The new message with its text, file and quote sealed. */
  seal(input: NewGroupMessage): Promise<NewGroupMessage>;
  /** The stored message opened (as it is when stored before encryption was on). */
  open(message: ChatMessage): Promise<ChatMessage>;
}

/** Search of an encrypted store, 1:1 or group: the index would hold the plaintext. */
export function searchUnavailable(): Promise<never> {
  return Promise.reject(
    new AppError(
      "SEARCH_UNAVAILABLE",
      "Search is unavailable: messages are encrypted at rest (MESSAGE_ENCRYPTION_KEYS)",
    ),
  );
}

export function encryptedGroups(inner: GroupRepository, sealing: MessageSealing): GroupRepository {
  const openAll = (messages: ChatMessage[]) => Promise.all(messages.map(sealing.open));
  return {
    createGroup: (input) => inner.createGroup(input),
    get: (groupId) => inner.get(groupId),
    addMembers: (groupId, userIds, at, options) => inner.addMembers(groupId, userIds, at, options),
    removeMember: (groupId, userId, at) => inner.removeMember(groupId, userId, at),
    rename: (groupId, name, at) => inner.rename(groupId, name, at),
    groupsOf: (userId) => inner.groupsOf(userId),
    isMember: (groupId, userId) => inner.isMember(groupId, userId),
    async insertMessage(input) {
      const result = await inner.insertMessage(await sealing.seal(input));
      return { ...result, message: await sealing.open(result.message) };
    },
    history: async (groupId, query) => openAll(await inner.history(groupId, query)),
    async conversations(userId, query) {
      const rows = await inner.conversations(userId, query);
      return Promise.all(rows.map(async (row) => ({
        ...row,
        lastMessage: row.lastMessage && await sealing.open(row.lastMessage),
      })));
    },
    markRead: (groupId, userId, messageId, at) => inner.markRead(groupId, userId, messageId, at),
    reads: (groupId, messageId) => inner.reads(groupId, messageId),
    undelivered: async (userId, query) => openAll(await inner.undelivered(userId, query)),
    acknowledge: (groupId, userId, messageId) => inner.acknowledge(groupId, userId, messageId),
    search: searchUnavailable,
    mute: (groupId, userId, until) => inner.mute(groupId, userId, until),
    unmute: (groupId, userId) => inner.unmute(groupId, userId),
    isMuted: (groupId, userId, at) => inner.isMuted(groupId, userId, at),
  };
}
