import { MongoClient } from "mongodb";
import { withEncryption } from "../src/store/encrypted_store.ts";
import { openKvStore } from "../src/store/kv/kv_store.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { MONGODB_URI, startTestServer, TEST_STORE } from "./helpers/server.ts";
import { storeContract } from "./store_contract.ts";

const keyA = { id: "a", key: crypto.getRandomValues(new Uint8Array(32)) };
const keyB = { id: "b", key: crypto.getRandomValues(new Uint8Array(32)) };
const envKeys = (...keys: { id: string; key: Uint8Array }[]) =>
  keys.map(({ id, key }) => `${id}:${btoa(String.fromCharCode(...key))}`).join(",");

// Encryption is transparent: the whole repository contract holds through it.
storeContract(
  "kv store, encrypted",
  async () => withEncryption(await openKvStore(":memory:"), [keyA]),
);

const SECRET_TEXT = "meet at the old mill at midnight";
const SECRET_FILE = "plans-for-the-heist.pdf";
const file = {
  url: "https://files.example/x",
  type: "document",
  name: SECRET_FILE,
  size: 99,
} as const;

async function rawKvText(path: string): Promise<string> {
  const kv = await Deno.openKv(path);
  try {
    const parts: string[] = [];
    for await (const entry of kv.list({ prefix: [] })) parts.push(JSON.stringify(entry.value));
    return parts.join("\n");
  } finally {
    kv.close();
  }
}

Deno.test({
  name: "MESSAGE_ENCRYPTION_KEYS: Deno KV holds no plaintext; old keys still open after rotation",
  ignore: TEST_STORE !== "kv",
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "parley-enc-" });
    const KV_PATH = `${dir}/chat.kv`;
    try {
      let server = await startTestServer({ KV_PATH, MESSAGE_ENCRYPTION_KEYS: envKeys(keyA) });
      const alice = await server.connect("alice");
      const sent = await alice.timeout(3000).emitWithAck("sendMessage", {
        receiverId: "bob",
        text: SECRET_TEXT,
        file,
      });
      assert(sent.ok);
      assertEquals(sent.message.text, SECRET_TEXT, "clients see plaintext");
      assertEquals(sent.message.file, file);
      await server.close();

      let raw = await rawKvText(KV_PATH);
      assert(raw.includes("enc:v1:a:"), "sealed with key a");
      assert(!raw.includes("midnight") && !raw.includes("heist"), "no plaintext at rest");

      // Rotate: b seals new messages, a still opens old ones.
      server = await startTestServer({ KV_PATH, MESSAGE_ENCRYPTION_KEYS: envKeys(keyB, keyA) });
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
      await server.close();
      raw = await rawKvText(KV_PATH);
      assert(raw.includes("enc:v1:b:") && !raw.includes("see you there"));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "MESSAGE_ENCRYPTION_KEYS: MongoDB documents hold no plaintext",
  ignore: !MONGODB_URI,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const db = `parley_enc_${Date.now()}`;
    const server = await startTestServer({
      MONGODB_URI: MONGODB_URI!,
      MONGODB_DB: db,
      MESSAGE_ENCRYPTION_KEYS: envKeys(keyA),
    });
    const client = new MongoClient(MONGODB_URI!);
    try {
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
    } finally {
      await server.close();
      await client.db(db).dropDatabase().catch(() => {});
      await client.close();
    }
  },
});
