/** The embedded store as a unit test wants it: fresh, in memory, gone after the test. */
import type { StoreBackend } from "../../src/store/backend.ts";
import { openSqliteBackend } from "../../src/store/sqlite/sqlite_backend.ts";
import { tempDir } from "./temp_dir.ts";

/**
 * A new in-memory SQLite backend, its upload files in a temporary directory;
 * `await using` closes it and removes the directory.
 */
export async function memoryBackend(): Promise<StoreBackend & AsyncDisposable> {
  const uploads = await tempDir("parley-memory-uploads-");
  const backend = await openSqliteBackend(":memory:", { uploadDir: uploads.path });
  return {
    ...backend,
    async [Symbol.asyncDispose]() {
      await backend.close();
      await uploads[Symbol.asyncDispose]();
    },
  };
}
