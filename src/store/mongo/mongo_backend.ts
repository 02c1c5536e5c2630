/**
 * The MongoDB backend: one `MongoClient` (one connection pool) for everything
 * Parley stores in the database, namely the chat (mongo_store.ts), uploads in
 * GridFS (gridfs_upload_store.ts) and push subscriptions
 * (mongo_subscription_store.ts). What the backend does only because the tests
 * run on FerretDB rather than MongoDB is listed in ferretdb.ts.
 */
import { MongoClient } from "mongodb";
import type { StoreBackend } from "../backend.ts";
import { MAX_POOL_SIZE } from "./ferretdb.ts";
import { GridFsUploadStore } from "./gridfs_upload_store.ts";
import { ensureIndexes } from "./indexes.ts";
import { type MongoChatOptions, mongoChatStore } from "./mongo_store.ts";
import { mongoErasureStore } from "./mongo_erasure.ts";
import { MongoHostUserRepository } from "./host_users.ts";
import { userIdCodec } from "./stored_ids.ts";
import { MongoSubscriptionStore } from "./mongo_subscription_store.ts";
import { MongoOutboxStore } from "./mongo_outbox_store.ts";
import { storeCall } from "./store_errors.ts";

/** Connects, creates the indexes (idempotent) and opens the stores; rejects with STORE_UNAVAILABLE. */
export async function openMongoBackend(
  uri: string,
  dbName: string,
  options: MongoChatOptions = {},
): Promise<StoreBackend> {
  const client = new MongoClient(uri, {
    // A store outage answers STORE_UNAVAILABLE within these bounds, never hangs.
    serverSelectionTimeoutMS: 2000,
    connectTimeoutMS: 2000,
    socketTimeoutMS: 5000,
    // Writes are confirmed to clients only once MongoDB says they are durable.
    writeConcern: { w: "majority" },
    // Small for FerretDB (ferretdb.ts); MongoDB would take the driver's default.
    maxPoolSize: MAX_POOL_SIZE,
  });
  try {
    await storeCall(() => client.connect());
    const db = client.db(dbName);
    await storeCall(() => ensureIndexes(db, { hostUsers: options.hostUsers !== undefined }));
    const chat = mongoChatStore(db, options);
    const uploads = await GridFsUploadStore.open(db);
    const subscriptions = await MongoSubscriptionStore.open(db);
    const outbox = await MongoOutboxStore.open(db);
    let closing: Promise<void> | undefined;
    return {
      kind: "mongo",
      chat,
      uploads,
      subscriptions,
      outbox,
      erasure: mongoErasureStore({
        db,
        uploads,
        ids: userIdCodec(options.idType ?? "string"),
        groups: chat.groups,
        hostUsers: chat.users instanceof MongoHostUserRepository ? chat.users : undefined,
      }),
      ping: () => storeCall(async () => void await db.command({ ping: 1 })),
      close: () =>
        closing ??= (async () => {
          await chat.idle();
          await client.close();
        })(),
    };
  } catch (err) {
    await client.close().catch(() => {});
    throw err;
  }
}
