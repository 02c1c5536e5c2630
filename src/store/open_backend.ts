/**
 * The one switch between backends: SQLite (the embedded default) or MongoDB
 * (`MONGODB_URI`). The MongoDB driver is loaded only when it is used.
 */
import type { Config } from "../config.ts";
import type { Logger } from "../log.ts";
import type { StoreBackend } from "./backend.ts";

export interface BackendOptions {
  /** Where SQLite's upload bytes go (`UPLOAD_DIR`); MongoDB keeps them in GridFS. */
  uploadDir: string;
  log?: Logger;
}

export async function openBackend(
  config: Config["store"],
  options: BackendOptions,
): Promise<StoreBackend> {
  if (config.kind === "mongo") {
    const { openMongoBackend } = await import("./mongo/mongo_backend.ts");
    return await openMongoBackend(config.uri, config.db, config);
  }
  const { openSqliteBackend } = await import("./sqlite/sqlite_backend.ts");
  return await openSqliteBackend(config.path, {
    uploadDir: options.uploadDir,
    onStoreError: (operation, message) =>
      options.log?.error("SQLite store failed", { operation, error: message }),
  });
}
