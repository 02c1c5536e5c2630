/**
 * The embedded backend: one SQLite file (or `:memory:`), owned by database
 * workers, holding the chat, upload records and push subscriptions. One file
 * serves one process: a cluster shares MongoDB instead.
 */
import { dirname } from "node:path";
import type { StoreBackend } from "../backend.ts";
import { type ConnectionOptions, SqliteConnection } from "./connection.ts";
import { sqliteChatStore } from "./sqlite_chat_store.ts";
import { sqliteSubscriptionStore } from "./sqlite_subscription_store.ts";
import { sqliteOutboxStore } from "./sqlite_outbox_store.ts";
import { SqliteUploadStore } from "./sqlite_upload_store.ts";
import { sqliteErasureStore } from "./sqlite_erasure_store.ts";

export interface SqliteBackendOptions extends ConnectionOptions {
  /** Where upload bytes are kept (`UPLOAD_DIR`). */
  uploadDir: string;
}

export async function openSqliteBackend(
  path: string,
  options: SqliteBackendOptions,
): Promise<StoreBackend> {
  if (path !== ":memory:") await Deno.mkdir(dirname(path), { recursive: true });
  const db = await SqliteConnection.open(path, options);
  const uploads = new SqliteUploadStore(db, options.uploadDir);
  await uploads.removeStaleTemp();
  return {
    kind: "sqlite",
    chat: sqliteChatStore(db),
    uploads,
    subscriptions: sqliteSubscriptionStore(db),
    outbox: sqliteOutboxStore(db),
    erasure: sqliteErasureStore(db, uploads),
    ping: () => db.read("ping", undefined),
    close: () => db.close(),
  };
}
