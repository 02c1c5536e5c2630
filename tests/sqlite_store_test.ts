import { withEncryption } from "../src/store/encrypted_store.ts";
import { quoteOf } from "../src/store/repository.ts";
import { openSqliteBackend } from "../src/store/sqlite/sqlite_backend.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { storeContract } from "./store_contract.ts";
import { groupStoreContract } from "./group_store_contract.ts";

const uploadDir = await Deno.makeTempDir({ prefix: "parley-sqlite-uploads-" });

storeContract("sqlite store (:memory:)", () => openSqliteBackend(":memory:", { uploadDir }));
groupStoreContract("sqlite store (:memory:)", () => openSqliteBackend(":memory:", { uploadDir }));
groupStoreContract("sqlite store (file)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-sqlite-groups-" });
  return await openSqliteBackend(`${dir}/parley.db`, { uploadDir });
});

storeContract("sqlite store (file)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-sqlite-" });
  return await openSqliteBackend(`${dir}/parley.db`, { uploadDir });
});

Deno.test("encrypted sqlite store: edits, quotes and reports are sealed at rest and open on reading", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-sqlite-enc-" });
  const path = `${dir}/parley.db`;
  const key = { id: "k", key: crypto.getRandomValues(new Uint8Array(32)) };
  const backend = await openSqliteBackend(path, { uploadDir });
  try {
    const chat = await withEncryption(backend.chat, [key]);
    const file = {
      url: "https://x.example/f",
      type: "image",
      name: "orchard.png",
      size: 5,
    } as const;
    const quoted = (await chat.messages.insert({
      senderId: "a",
      receiverId: "b",
      text: "meet by the lighthouse",
      file,
      clientMessageId: null,
    })).message;
    const edited = await chat.messages.editMessage(
      quoted._id,
      "a",
      "meet by the windmill",
      new Date().toISOString(),
    );
    assertEquals(edited.ok && [edited.message.text, edited.message.file], [
      "meet by the windmill",
      file,
    ]);
    const reply = (await chat.messages.insert({
      senderId: "b",
      receiverId: "a",
      text: "which windmill?",
      file: null,
      clientMessageId: null,
      replyTo: quoteOf(edited.ok ? edited.message : quoted),
    })).message;
    assertEquals(reply.replyTo, {
      _id: quoted._id,
      senderId: "a",
      text: "meet by the windmill",
      file: { name: "orchard.png", type: "image" },
    });
    assertEquals(
      (await chat.messages.history("a", "b", { limit: 10, skip: 0 }))[1]?.replyTo,
      reply.replyTo,
    );
    const reported = await chat.reports.report({
      messageId: quoted._id,
      reporterId: "b",
      reason: "other",
      note: null,
      createdAt: new Date().toISOString(),
    });
    assertEquals(reported.ok && [reported.report.text, reported.report.file], [
      "meet by the windmill",
      file,
    ]);
    assertEquals((await chat.reports.list({ limit: 5 }))[0]?.text, "meet by the windmill");

    // What the store itself holds: ciphertext only.
    const stored = (await backend.chat.messages.get(reply._id))!;
    assert(stored.text?.startsWith("enc:v1:k:") && stored.replyTo && "text" in stored.replyTo);
    assert(stored.replyTo.text?.startsWith("enc:v1:k:") && stored.replyTo.file === null);
    assertEquals(
      (await backend.chat.reports.list({ limit: 5 }))[0]?.text?.slice(0, 9),
      "enc:v1:k:",
    );
    await backend.close();
    let raw = "";
    for (const file of [path, `${path}-wal`]) {
      raw += await Deno.readFile(file).then((b) => new TextDecoder("latin1").decode(b), () => "");
    }
    for (const secret of ["lighthouse", "windmill", "orchard"]) {
      assert(!raw.includes(secret), `no "${secret}" at rest`);
    }
  } finally {
    await backend.close();
    await Deno.remove(dir, { recursive: true });
  }
});
