/**
 * Parley inside a host app's MongoDB (issue 17, item 2): users read from the
 * host's own `users` collection of Mongoose-style documents, only `isOnline`
 * and `lastSeen` written there, no user created, sends to unknown users
 * refused; with MONGODB_ID_TYPE=objectId, messages' user ids stored as
 * ObjectIds (what `populate()` follows) and strings on the wire. Needs a
 * MongoDB server (MONGODB_URI, scripts/mongo-test-server.sh), as
 * tests/mongo_store_test.ts does; the SQLite refusal runs everywhere.
 */
import { type Db, type Document, MongoClient, ObjectId } from "mongodb";
import type { ChatMessage } from "../src/protocol/types.ts";
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { configError } from "./helpers/config.ts";
import { waitFor } from "./helpers/events.ts";
import { send } from "./helpers/messages.ts";
import { MONGODB_URI, startTestServer, type TestServer } from "./helpers/server.ts";

if (!MONGODB_URI) {
  console.warn(
    "SKIPPED: host users on MongoDB (MONGODB_URI is not set; run scripts/mongo-test-server.sh start)",
  );
}
const ignore = !MONGODB_URI;
const SERVICE_KEY = "service-key-that-is-at-least-32-characters";

const ALICE = new ObjectId();
const BOB = new ObjectId();
const UNKNOWN = new ObjectId();

/** The host app's users, as a Mongoose app with timestamps stores them. */
function hostUsers(): Document[] {
  const at = new Date("2024-05-01T08:00:00.000Z");
  return [
    {
      _id: ALICE,
      username: "alice",
      email: "alice@shop.example",
      password: "$2b$10$CwTycUXWue0Thq9StjUM0uJ8.jDXu6E2ynXqXOd0C9CqYx8w8K6Hy",
      role: "customer",
      addresses: [{ city: "Lyon", zip: "69001" }],
      createdAt: at,
      updatedAt: at,
      __v: 0,
    },
    {
      _id: BOB,
      username: "bob",
      email: "bob@shop.example",
      password: "$2b$10$7EqJtq98hPqEX7fNZaFWoOhi5BWX4Z3H8oMl7VwCw9uJ5SPo4eJ7S",
      role: "seller",
      createdAt: at,
      updatedAt: at,
      __v: 0,
    },
    // Not every host keys its users by ObjectId.
    { _id: "legacy-7", username: "legacy", createdAt: at, updatedAt: at },
  ];
}

interface HostSetup extends AsyncDisposable {
  server: TestServer;
  db: Db;
  users: () => Promise<Document[]>;
  messages: () => Promise<Document[]>;
}

let databases = 0;

async function startWithHostUsers(env: Record<string, string> = {}): Promise<HostSetup> {
  const dbName = `parley_host_${Date.now()}_${databases++}`;
  const mongo = new MongoClient(MONGODB_URI!);
  await mongo.connect();
  const db = mongo.db(dbName);
  await db.collection("users").insertMany(hostUsers());
  const server = await startTestServer({
    MONGODB_URI: MONGODB_URI!,
    MONGODB_DB: dbName,
    MONGODB_USERS_COLLECTION: "users",
    SERVICE_API_KEYS: SERVICE_KEY,
    ...env,
  });
  const close = async () => {
    await server.close();
    await db.dropDatabase();
    await mongo.close();
  };
  return {
    server,
    db,
    users: () => db.collection("users").find().sort({ username: 1 }).toArray(),
    messages: () => db.collection("messages").find().sort({ _id: 1 }).toArray(),
    [Symbol.asyncDispose]: close,
  };
}

/** The document without the two fields Parley may write. */
function withoutPresence({ isOnline: _online, lastSeen: _seen, ...rest }: Document): Document {
  return rest;
}

Deno.test({
  name: "host users: connecting and leaving write only isOnline and lastSeen, and create nobody",
  ignore,
  async fn() {
    await using host = await startWithHostUsers();
    const before = await host.users();
    const alice = await host.server.connect(ALICE.toHexString());
    const aliceDoc = async () => (await host.users()).find((u) => u.username === "alice")!;
    await waitFor(async () => (await aliceDoc()).isOnline === true, "alice stored online");
    assert((await aliceDoc()).lastSeen instanceof Date, "lastSeen is a date");

    // Users the host does not have may connect; they are not created.
    const stranger = await host.server.connect("stranger");
    const unknown = await host.server.connect(UNKNOWN.toHexString());
    alice.close();
    stranger.close();
    unknown.close();
    await waitFor(async () => (await aliceDoc()).isOnline === false, "alice stored offline");

    const after = await host.users();
    assertEquals(after.length, before.length, "no user created");
    assertEquals(after.map(withoutPresence), before, "every other field as the host wrote it");
    const changed = after.find((u) => u.username === "alice")!;
    assertEquals(
      Object.keys(changed).sort(),
      [...Object.keys(before[0]!), "isOnline", "lastSeen"].sort(),
    );
    assertEquals(after.find((u) => u.username === "bob")!.isOnline, undefined, "bob untouched");
  },
});

Deno.test({
  name:
    "host users: a send to a user the host does not have is NOT_FOUND; names come from the host",
  ignore,
  async fn() {
    await using host = await startWithHostUsers({ USER_NAME_FIELD: "email" });
    const alice = await host.server.connect(ALICE.toHexString());
    for (const receiverId of [UNKNOWN.toHexString(), "nobody"]) {
      const ack = await alice.timeout(3000).emitWithAck("sendMessage", { receiverId, text: "hi" });
      assertEquals(ack.ok ? "sent" : [ack.code, ack.error], ["NOT_FOUND", "Receiver not found"]);
    }
    // The service API's sends follow the same rule.
    const rest = await fetch(`${host.server.url}/api/service/messages`, {
      method: "POST",
      headers: { authorization: `Bearer ${SERVICE_KEY}`, "content-type": "application/json" },
      body: JSON.stringify({ senderId: ALICE.toHexString(), receiverId: "nobody", text: "hi" }),
    });
    assertEquals([rest.status, (await rest.json()).code], [404, "NOT_FOUND"]);
    assertEquals(await host.messages(), [], "nothing stored");

    await send(alice, BOB.toHexString(), "is the bike still for sale?");
    await send(alice, "legacy-7", "hello");
    const rows = await (await host.server.api(ALICE.toHexString(), "/api/chats/conversations"))
      .json();
    assertEquals(
      rows.map((
        row: { user: { _id: string; username: string } },
      ) => [row.user._id, row.user.username]),
      [["legacy-7", null], [BOB.toHexString(), "bob@shop.example"]],
      "USER_NAME_FIELD=email names them; a document without that field has no name",
    );
  },
});

Deno.test({
  name:
    "host users: MONGODB_ID_TYPE=objectId stores ObjectIds that populate() follows, strings on the wire",
  ignore,
  async fn() {
    await using host = await startWithHostUsers({ MONGODB_ID_TYPE: "objectId" });
    const [a, b] = [ALICE.toHexString(), BOB.toHexString()];
    const alice = await host.server.connect(a);
    const bob = await host.server.connect(b);
    const first = await send(alice, b, "is the bike still for sale?");
    const reply = await send(bob, a, "yes");
    await send(alice, "legacy-7", "hello");
    assertEquals([first.senderId, first.receiverId], [a, b], "strings on the wire");

    const raw = await host.messages();
    assert(raw[0]!.senderId instanceof ObjectId && raw[0]!.senderId.equals(ALICE), "an ObjectId");
    assert(raw[0]!.receiverId instanceof ObjectId && raw[0]!.receiverId.equals(BOB));
    assertEquals(raw[2]!.receiverId, "legacy-7", "an id that is no ObjectId stays a string");
    // What Mongoose's populate("senderId") runs: the users whose _id is the stored value.
    const populated = await host.db.collection("users").find({ _id: { $in: [raw[0]!.senderId] } })
      .toArray();
    assertEquals(populated.map((user) => user.username), ["alice"]);

    const history: ChatMessage[] = await (await host.server.api(b, `/api/chats/history/${a}`))
      .json();
    assertEquals(history.map((m) => [m._id, m.senderId, m.receiverId]), [
      [first._id, a, b],
      [reply._id, b, a],
    ]);
    const rows = await (await host.server.api(b, "/api/chats/conversations")).json();
    assertEquals(rows.map((row: { user: { _id: string; username: string } }) => row.user._id), [a]);

    // Read receipts, edits and deletes find the message by its stored ids too.
    const read = await bob.timeout(3000).emitWithAck("messageRead", { messageId: first._id });
    assert(read.ok, JSON.stringify(read));
    const unread = await (await host.server.api(b, "/api/chats/conversations")).json();
    assertEquals(unread[0].unreadCount, 0);
    // A resend with the same client id finds the original (idempotency by sender).
    const once = { receiverId: b, text: "once", clientMessageId: "c-1" };
    const sent = await alice.timeout(3000).emitWithAck("sendMessage", once);
    const again = await alice.timeout(3000).emitWithAck("sendMessage", once);
    assert(sent.ok && again.ok && sent.message._id === again.message._id, "one message");
  },
});

Deno.test({
  name: "host users: erasing a user keeps the host's document, without Parley's fields",
  ignore,
  async fn() {
    await using host = await startWithHostUsers({ MONGODB_ID_TYPE: "objectId" });
    const before = await host.users();
    const alice = await host.server.connect(ALICE.toHexString());
    await send(alice, BOB.toHexString(), "bye");
    const res = await fetch(`${host.server.url}/api/service/users/${ALICE.toHexString()}`, {
      method: "DELETE",
      headers: { authorization: `Bearer ${SERVICE_KEY}` },
    });
    assertEquals(res.status, 200);
    const { removed } = await res.json();
    assertEquals([removed.messages, removed.users], [1, 0]);
    await waitFor(
      async () => (await host.users()).every((u) => u.isOnline === undefined),
      "presence gone",
    );
    assertEquals(await host.users(), before, "the host's documents exactly as they were");
    assertEquals(await host.messages(), []);
  },
});

Deno.test("host users: the MongoDB-only settings are refused with SQLite, by name", () => {
  for (const name of ["MONGODB_USERS_COLLECTION", "USER_NAME_FIELD", "MONGODB_ID_TYPE"]) {
    const value = name === "MONGODB_ID_TYPE" ? "objectId" : "users";
    assertMatch(configError({ [name]: value }), new RegExp(`${name}: only with MONGODB_URI`));
  }
  assertMatch(
    configError({ MONGODB_URI: "mongodb://db", MONGODB_ID_TYPE: "uuid" }),
    /MONGODB_ID_TYPE/,
  );
});
