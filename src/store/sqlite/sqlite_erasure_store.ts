/**
 * The erasure on SQLite: one write (erasure_operations.ts), so one
 * transaction; the upload files go once it has committed. A crash in between
 * leaves files no record points to, which nothing serves.
 */
import type { ErasureStore } from "../erasure.ts";
import type { SqliteConnection } from "./connection.ts";
import type { SqliteUploadStore } from "./sqlite_upload_store.ts";

export function sqliteErasureStore(db: SqliteConnection, uploads: SqliteUploadStore): ErasureStore {
  return {
    async eraseUser(userId) {
      const { counts, uploadIds } = await db.write("eraseUser", { userId });
      await uploads.removeFiles(uploadIds);
      return counts;
    },
  };
}
