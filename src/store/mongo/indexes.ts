import type { Db } from "mongodb";
import { createIndexes, type IndexSpec } from "./ferretdb.ts";
import { GROUP_INDEXES } from "./mongo_groups.ts";

const INDEXES: IndexSpec[] = [
  // groups, their members and pointers (mongo_groups.ts)
  ...GROUP_INDEXES,
  // history: one conversation, newest first, cursor on _id
  { collection: "messages", key: { conversationId: 1, _id: -1 }, name: "history" },
  // my-chats: everything a user sent or received, newest first
  { collection: "messages", key: { participants: 1, _id: -1 }, name: "my_chats" },
  // offline catch-up: a user's undelivered messages, oldest first
  {
    collection: "messages",
    key: { receiverId: 1, deliveredAt: 1, _id: 1 },
    name: "undelivered",
  },
  // Idempotent send: `(senderId, clientMessageId)` is unique where a client id
  // exists. Partial on MongoDB; plain where partial indexes are not implemented
  // (FerretDB: see ferretdb.ts), which there also skips documents that lack the
  // field (messages without a client id never store one).
  {
    collection: "messages",
    key: { senderId: 1, clientMessageId: 1 },
    name: "client_message_id",
    unique: true,
    partialFilterExpression: { clientMessageId: { $type: "string" } },
  },
  // conversations list and unread counts: a user's rows, most recent message first
  {
    collection: "conversations",
    key: { ownerId: 1, lastMessageId: -1 },
    name: "recent_conversations",
  },
  // start-up of a single node: the users left online by a process that died (few of all users)
  { collection: "users", key: { isOnline: 1 }, name: "online_users" },
  // search: a user's messages holding a word, newest first (keys: ferretdb.ts, item 6)
  { collection: "messages", key: { searchKeys: 1, _id: -1 }, name: "search" },
  // a delete finds the replies that quote the message
  {
    collection: "messages",
    key: { replyToId: 1 },
    name: "replies",
    partialFilterExpression: { replyToId: { $type: "string" } },
  },
  // blocks: _id is [blocker, blocked] as JSON; the blocker's list, and who blocks a user
  { collection: "blocks", key: { blockerId: 1, blockedAt: -1 }, name: "blocked_by" },
  { collection: "blocks", key: { blockedId: 1 }, name: "blockers_of" },
  // reports: one per user and message (the unique key also answers a repeat)
  {
    collection: "reports",
    key: { reporterId: 1, messageId: 1 },
    name: "report_once",
    unique: true,
  },
];

/**
 * Creates every index the repository's queries use (queries.ts); idempotent,
 * run at start-up, one `createIndex` call per index (ferretdb.ts).
 */
export async function ensureIndexes(
  db: Db,
  options: { hostUsers?: boolean } = {},
): Promise<void> {
  // The host app's users collection is the host's: Parley creates no index there.
  await createIndexes(
    db,
    options.hostUsers ? INDEXES.filter((spec) => spec.collection !== "users") : INDEXES,
  );
}
