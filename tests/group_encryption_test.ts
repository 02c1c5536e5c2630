/**
 * Group messages under encryption at rest (src/store/encrypted_groups.ts):
 * sealed in the store, open on every read, bound to their group.
 */
import { withEncryption } from "../src/store/encrypted_store.ts";
import { AppError } from "../src/errors.ts";
import { quoteOf } from "../src/store/repository.ts";
import { openSqliteBackend } from "../src/store/sqlite/sqlite_backend.ts";
import { assert, assertEquals, assertRejects } from "./helpers/assert.ts";

Deno.test("encrypted sqlite store: group messages are sealed at rest and open on every read", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-groups-enc-" });
  const path = `${dir}/parley.db`;
  const key = { id: "k", key: crypto.getRandomValues(new Uint8Array(32)) };
  const backend = await openSqliteBackend(path, { uploadDir: dir });
  try {
    const chat = await withEncryption(backend.chat, [key]);
    const at = new Date().toISOString();
    const g = await chat.groups.createGroup({
      name: "Crew",
      ownerId: "o",
      memberIds: ["o", "a"],
      createdAt: at,
    });
    const file = {
      url: "https://x.example/m",
      type: "image",
      name: "harbour.png",
      size: 9,
    } as const;
    const first = (await chat.groups.insertMessage({
      groupId: g._id,
      senderId: "o",
      text: "sail at dawn",
      file,
      clientMessageId: null,
    })).message;
    assertEquals([first.text, first.file, first.groupId], ["sail at dawn", file, g._id]);
    const reply = (await chat.groups.insertMessage({
      groupId: g._id,
      senderId: "a",
      text: "which pier?",
      file: null,
      clientMessageId: null,
      replyTo: quoteOf(first),
    })).message;
    assertEquals(reply.replyTo, quoteOf(first));

    assertEquals((await chat.groups.history(g._id, { limit: 10, skip: 0 })).map((m) => m.text), [
      "sail at dawn",
      "which pier?",
    ]);
    assertEquals((await chat.messages.get(first._id))?.file, file);
    assertEquals((await chat.groups.undelivered("a", { limit: 10 })).map((m) => m.text), [
      "sail at dawn",
    ]);
    const row = (await chat.groups.conversations("o", { limit: 5, skip: 0 }))[0];
    assertEquals(row?.lastMessage?.replyTo, quoteOf(first));
    const edited = await chat.messages.editMessage(first._id, "o", "sail at noon", at);
    assertEquals(edited.ok && edited.message.text, "sail at noon");
    await assertRejects(
      () => chat.groups.search("o", "sail", { limit: 5 }),
      (err) => assertEquals(err instanceof AppError && err.code, "SEARCH_UNAVAILABLE"),
    );

    const stored = await backend.chat.groups.history(g._id, { limit: 10, skip: 0 });
    assert(stored.every((m) => m.text?.startsWith("enc:v1:k:") && m.file === null));
    await backend.close();
    let raw = "";
    for (const name of [path, `${path}-wal`]) {
      raw += await Deno.readFile(name).then((b) => new TextDecoder("latin1").decode(b), () => "");
    }
    for (const secret of ["dawn", "noon", "pier", "harbour"]) {
      assert(!raw.includes(secret), `no "${secret}" at rest`);
    }
  } finally {
    await backend.close();
    await Deno.remove(dir, { recursive: true });
  }
});
