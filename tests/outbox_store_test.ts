/**
 * The outbox contract on both backends. Its own file rather than lines in
 * sqlite_store_test.ts and mongo_store_test.ts: the chat contract there is
 * run several ways (encrypted, file, memory), which the outbox does not vary.
 */
import { withSealedOutbox } from "../src/store/encrypted_store.ts";
import { openMongoBackend } from "../src/store/mongo/mongo_backend.ts";
import { openSqliteBackend } from "../src/store/sqlite/sqlite_backend.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { MONGODB_URI } from "./helpers/server.ts";
import { tempDir } from "./helpers/temp_dir.ts";
import { outboxContract } from "./outbox_store_contract.ts";

const uploadDir = await Deno.makeTempDir({ prefix: "parley-outbox-uploads-" });

outboxContract("sqlite (:memory:)", () => openSqliteBackend(":memory:", { uploadDir }));

outboxContract("sqlite (file)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "parley-outbox-" });
  return await openSqliteBackend(`${dir}/parley.db`, { uploadDir });
});

let run = 0;
outboxContract(
  "mongo",
  () => openMongoBackend(MONGODB_URI!, `parley_outbox_${Date.now()}_${run++}`),
  { ignore: !MONGODB_URI },
);

// With MESSAGE_ENCRYPTION_KEYS the outbox is sealed at rest (webhook bodies carry message text):
// the contract holds through it, and the file never holds the payload in clear.
const key = { id: "k1", key: crypto.getRandomValues(new Uint8Array(32)) };

outboxContract("sqlite (:memory:), sealed", async () => {
  const backend = await openSqliteBackend(":memory:", { uploadDir });
  return { ...backend, outbox: await withSealedOutbox(backend.outbox, [key]) };
});

Deno.test("sealed outbox: a pending payload is not in the database file in clear", async () => {
  await using dir = await tempDir("parley-outbox-sealed-");
  const path = `${dir.path}/parley.db`;
  const secret = "the launch code is 0000";
  const backend = await openSqliteBackend(path, { uploadDir });
  const outbox = await withSealedOutbox(backend.outbox, [key]);
  try {
    await outbox.add([{ id: "e1", channel: "events", payload: JSON.stringify({ secret }) }], 1);
    const [claimed] = await outbox.claim(2, 10, 30_000);
    assertEquals(JSON.parse(claimed!.payload), { secret }, "opened again when claimed");
  } finally {
    await backend.close();
  }
  let raw = "";
  for (const file of [path, `${path}-wal`]) {
    try {
      raw += new TextDecoder("latin1").decode(await Deno.readFile(file));
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }
  assert(raw.includes("enc:v1:k1:"), "the payload is stored sealed");
  assertEquals(raw.includes("launch code"), false);
});
