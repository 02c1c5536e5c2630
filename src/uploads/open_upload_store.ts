import type { Database } from "../store/database.ts";
import type { UploadStore } from "./upload_store.ts";

/** The upload backend that goes with the chat store: GridFS with MongoDB, a local directory with Deno KV. */
export async function openUploadStore(database: Database, dir: string): Promise<UploadStore> {
  if (database.kind === "mongo") {
    const { GridFsUploadStore } = await import("./gridfs_upload_store.ts");
    return await GridFsUploadStore.open(database.db);
  }
  const { KvUploadStore } = await import("./kv_upload_store.ts");
  const store = new KvUploadStore(database.kv, dir);
  await store.removeStaleTemp();
  await store.countUsageOnce();
  return store;
}
