import { type Db, type IndexSpecification, MongoServerError } from "mongodb";

/** The server does not implement an index option (FerretDB 1.x: partial filters). */
const NOT_IMPLEMENTED = 238;

const INDEXES: { collection: string; key: IndexSpecification; name: string }[] = [
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
  // conversations list and unread counts: a user's rows, most recent message first
  {
    collection: "conversations",
    key: { ownerId: 1, lastMessageId: -1 },
    name: "recent_conversations",
  },
  // start-up of a single node: the users left online by a process that died (few of all users)
  { collection: "users", key: { isOnline: 1 }, name: "online_users" },
];

/**
 * Creates every index the repository's queries use (queries.ts); idempotent,
 * run at start-up. One `createIndex` call per index: FerretDB 1.24 drops the
 * connection when one `createIndexes` call names several existing indexes.
 */
export async function ensureIndexes(db: Db): Promise<void> {
  for (const { collection, key, name } of INDEXES) {
    await db.collection(collection).createIndex(key, { name });
  }
  await createClientIdIndex(db);
}

/**
 * Idempotent send: `(senderId, clientMessageId)` is unique where a client id
 * exists. Real MongoDB gets the partial index; a server without partial
 * indexes gets a plain unique one, which on FerretDB also skips documents that
 * lack the field (messages without a client id never store one).
 */
async function createClientIdIndex(db: Db): Promise<void> {
  const key = { senderId: 1, clientMessageId: 1 };
  try {
    await db.collection("messages").createIndex(key, {
      name: "client_message_id",
      unique: true,
      partialFilterExpression: { clientMessageId: { $type: "string" } },
    });
  } catch (err) {
    if (!(err instanceof MongoServerError && err.code === NOT_IMPLEMENTED)) throw err;
    await db.collection("messages").createIndex(key, { name: "client_message_id", unique: true });
  }
}
