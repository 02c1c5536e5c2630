/**
 * A new message as the SQLite store hands it to the writer: 1:1
 * (sqlite_chat_store.ts) and group (sqlite_group_store.ts) messages are the
 * same row but for who receives them.
 */
import type { ULIDFactory } from "ulid";
import type { ChatMessage } from "../../protocol/types.ts";
import type { NewMessage } from "../repository.ts";

/** Exactly one of `receiverId` (1:1) and `groupId` (group) is set. */
export function newMessage(
  nextId: ULIDFactory,
  input: Omit<NewMessage, "receiverId">,
  to: { receiverId: string; groupId: null } | { receiverId: null; groupId: string },
): ChatMessage {
  const now = new Date();
  return {
    _id: nextId(now.getTime()),
    senderId: input.senderId,
    receiverId: to.receiverId,
    groupId: to.groupId,
    text: input.text,
    file: input.file,
    clientMessageId: input.clientMessageId,
    createdAt: now.toISOString(),
    updatedAt: now.toISOString(),
    deliveredAt: null,
    readAt: null,
    editedAt: null,
    reactions: [],
    replyTo: input.replyTo ?? null,
  };
}
