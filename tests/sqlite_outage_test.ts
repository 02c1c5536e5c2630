/**
 * A database error on the SQLite file, for real: another connection (an
 * operator's `sqlite3` shell, a backup script) holds the write lock longer
 * than the writer waits for it. Sends are refused with STORE_UNAVAILABLE and
 * store nothing; reads still answer; once the lock is released the same
 * server takes writes again, and nothing confirmed before is lost.
 */
import { DatabaseSync } from "node:sqlite";
import type { ChatMessage } from "../src/protocol/types.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { startTestServer, TEST_STORE } from "./helpers/server.ts";
import { tempDir } from "./helpers/temp_dir.ts";

Deno.test({
  name: "SQLite: a write lock held elsewhere answers STORE_UNAVAILABLE, then the server recovers",
  ignore: TEST_STORE !== "sqlite",
  fn: async () => {
    await using dir = await tempDir("parley-sqlite-outage-");
    const path = `${dir.path}/parley.db`;
    await using server = await startTestServer({
      SQLITE_PATH: path,
      UPLOAD_DIR: `${dir.path}/uploads`,
    });
    using operator = new DatabaseSync(path);
    const alice = await server.connect("alice");
    const send = (text: string) =>
      alice.timeout(10_000).emitWithAck("sendMessage", {
        receiverId: "bob",
        text,
        clientMessageId: text,
      });
    for (const text of ["one", "two"]) assert((await send(text)).ok);

    operator.exec("BEGIN IMMEDIATE");
    const started = Date.now();
    const refused = await send("three");
    assertEquals(refused, {
      ok: false,
      code: "STORE_UNAVAILABLE",
      error: "The message store is unavailable; retry later",
      event: "sendMessage",
    });
    assert(Date.now() - started < 5000, `refused after ${Date.now() - started} ms`);
    // The reader connection is not blocked by a writer.
    const during = await server.api("bob", "/api/chats/history/alice");
    assertEquals((await during.json() as ChatMessage[]).map((m) => m.text), ["one", "two"]);
    operator.exec("ROLLBACK");

    // The same client id again: stored once, now.
    const retried = await send("three");
    assert(retried.ok && !retried.duplicate, "stored now, not a duplicate of the refused send");
    const after = await server.api("bob", "/api/chats/history/alice");
    assertEquals((await after.json() as ChatMessage[]).map((m) => m.text), [
      "one",
      "two",
      "three",
    ]);
  },
});
