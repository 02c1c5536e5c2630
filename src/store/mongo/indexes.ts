import { type Db, MongoServerError } from "mongodb";

/** The server does not implement an index option (FerretDB 1.x: partial filters). */
const NOT_IMPLEMENTED = 238;

/**
 * Creates every index the repository's queries use; idempotent, run at start-up.
 * Each query of mongo_store.ts is served by one of these (see README, "Indexes").
 */
export async function ensureIndexes(db: Db): Promise<void> {
  const messages = db.collection("messages");
  await messages.createIndexes([
    // history: one conversation, newest first, cursor on _id
    { key: { conversationId: 1, _id: -1 }, name: "history" },
    // my-chats: everything a user sent or received, newest first
    { key: { participants: 1, _id: -1 }, name: "my_chats" },
  ]);
  await createClientIdIndex(db);
  await db.collection("conversations").createIndexes([
    // conversations list: a user's rows, most recent message first
    { key: { ownerId: 1, lastMessageId: -1 }, name: "recent_conversations" },
  ]);
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
    await db.collection("messages").createIndex(key, {
      name: "client_message_id",
      unique: true,
    });
  }
}
