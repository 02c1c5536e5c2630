import { MongoClient } from "mongodb";
import { withEncryption } from "../src/store/encrypted_store.ts";
import { openSqliteBackend } from "../src/store/sqlite/sqlite_backend.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { MONGODB_URI, startTestServer, TEST_STORE } from "./helpers/server.ts";
import { tempDir } from "./helpers/temp_dir.ts";
import { storeContract } from "./store_contract.ts";

const keyA = { id: "a", key: crypto.getRandomValues(new Uint8Array(32)) };
const keyB = { id: "b", key: crypto.getRandomValues(new Uint8Array(32)) };
const envKeys = (...keys: { id: string; key: Uint8Array }[]) =>
  keys.map(({ id, key }) => `${id}:${btoa(String.fromCharCode(...key))}`).join(",");

// Encryption is transparent: the whole repository contract holds through it.
storeContract(
  "sqlite store, encrypted",
  async () => {
    const backend = await openSqliteBackend(":memory:", { uploadDir: await Deno.makeTempDir() });
    return { ...backend, chat: await withEncryption(backend.chat, [keyA]) };
  },
  { encrypted: true },
);

const SECRET_TEXT = "meet at the old mill at midnight";
const SECRET_FILE = "plans-for-the-heist.pdf";
const file = {
  url: "https://files.example/x",
  type: "document",
  name: SECRET_FILE,
  size: 99,
} as const;

/** Every byte of the database file and its write-ahead log, as text. */
async function rawDatabaseText(path: string): Promise<string> {
  const parts: string[] = [];
  for (const file of [path, `${path}-wal`]) {
    try {
      parts.push(new TextDecoder("latin1").decode(await Deno.readFile(file)));
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  return parts.join("\n");
}

Deno.test({
  name:
    "MESSAGE_ENCRYPTION_KEYS: the SQLite file holds no plaintext; old keys still open after rotation",
  ignore: TEST_STORE !== "sqlite",
  fn: async () => {
    await using dir = await tempDir("parley-enc-");
    const SQLITE_PATH = `${dir.path}/parley.db`;
    {
      await using server = await startTestServer({
        SQLITE_PATH,
        MESSAGE_ENCRYPTION_KEYS: envKeys(keyA),
      });
      const alice = await server.connect("alice");
      const sent = await alice.timeout(3000).emitWithAck("sendMessage", {
        receiverId: "bob",
        text: SECRET_TEXT,
        file,
      });
      assert(sent.ok);
      assertEquals(sent.message.text, SECRET_TEXT, "clients see plaintext");
      assertEquals(sent.message.file, file);
    }
    // Each server has closed (its block ended) before the file is read.
    let raw = await rawDatabaseText(SQLITE_PATH);
    assert(raw.includes("enc:v1:a:"), "sealed with key a");
    assert(!raw.includes("midnight") && !raw.includes("heist"), "no plaintext at rest");

    {
      // Rotate: b seals new messages, a still opens old ones.
      await using server = await startTestServer({
        SQLITE_PATH,
        MESSAGE_ENCRYPTION_KEYS: envKeys(keyB, keyA),
      });
      const bob = await server.connect("bob");
      const reply = await bob.timeout(3000).emitWithAck("sendMessage", {
        receiverId: "alice",
        text: "see you there",
      });
      assert(reply.ok);
      const history = await (await server.api("bob", "/api/chats/history/alice")).json();
      assertEquals(history.map((m: { text: string }) => m.text), [SECRET_TEXT, "see you there"]);
      assertEquals(history[0].file, file);
      const rows = await (await server.api("alice", "/api/chats/conversations")).json();
      assertEquals(rows[0].lastMessage.text, "see you there");
    }
    raw = await rawDatabaseText(SQLITE_PATH);
    assert(raw.includes("enc:v1:b:") && !raw.includes("see you there"));
  },
});

Deno.test({
  name: "MESSAGE_ENCRYPTION_KEYS: MongoDB documents hold no plaintext",
  ignore: !MONGODB_URI,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const db = `parley_enc_${Date.now()}`;
    const client = new MongoClient(MONGODB_URI!);
    // The database is dropped and the client closed once the server has closed.
    await using dropDatabase = new AsyncDisposableStack();
    dropDatabase.defer(async () => {
      await client.db(db).dropDatabase().catch(() => {});
      await client.close();
    });
    await using server = await startTestServer({
      MONGODB_URI: MONGODB_URI!,
      MONGODB_DB: db,
      MESSAGE_ENCRYPTION_KEYS: envKeys(keyA),
    });
    const alice = await server.connect("alice");
    const sent = await alice.timeout(3000).emitWithAck("sendMessage", {
      receiverId: "bob",
      text: SECRET_TEXT,
      file,
    });
    assert(sent.ok);
    const docs = await client.db(db).collection("messages").find({}).toArray();
    const raw = JSON.stringify(docs);
    assert(raw.includes("enc:v1:a:"));
    assert(!raw.includes("midnight") && !raw.includes("heist"), "no plaintext at rest");
    const history = await (await server.api("bob", "/api/chats/history/alice")).json();
    assertEquals(history[0].text, SECRET_TEXT);
  },
});
