/**
 * The WAL file stays near its preallocated size (32 MiB; at most twice that here, where it grew
 * to 134 MiB before) under writes that never pause. A checkpoint that runs beside a writer which
 * keeps committing never copies the last frames, and SQLite starts the WAL over only after one
 * copied all of them: without a RESTART now and then, the WAL grew by ~25 MB/s under the soak's
 * load, the disk filling and the WAL index's shared memory growing with it.
 */
import { openSqliteBackend } from "../src/store/sqlite/sqlite_backend.ts";
import { assert } from "./helpers/assert.ts";
import { tempDir } from "./helpers/temp_dir.ts";

const MiB = 2 ** 20;

Deno.test("the SQLite WAL stays near its preallocated size while writes never pause", async () => {
  await using dir = await tempDir("parley-wal-");
  const path = `${dir.path}/parley.db`;
  const backend = await openSqliteBackend(path, { uploadDir: `${dir.path}/uploads` });
  let largest = 0;
  try {
    // Four senders, each send followed by its receipt: small batches, each one commit.
    const sender = async (who: number) => {
      for (let i = 0; i < 1500; i++) {
        const { message } = await backend.chat.messages.insert({
          senderId: `sender${who}`,
          receiverId: `receiver${i % 50}`,
          text: `message ${i} from sender ${who}, a few words to index in search`,
          file: null,
          clientMessageId: null,
        });
        await backend.chat.messages.markDelivered(message._id, new Date().toISOString());
        if (i % 100 === 0) largest = Math.max(largest, Deno.statSync(`${path}-wal`).size);
      }
    };
    await Promise.all([0, 1, 2, 3].map(sender));
  } finally {
    await backend.close();
  }
  console.log(`6,000 sends: WAL at most ${(largest / MiB).toFixed(1)} MiB`);
  assert(largest <= 64 * MiB, `the WAL grew to ${(largest / MiB).toFixed(1)} MiB`);
});
