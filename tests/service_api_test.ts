/**
 * The service API (`/api/service/*`): the host backend sends as a user,
 * disconnects, exports and erases a user and lists reports, with a key from
 * SERVICE_API_KEYS and nothing else. On the store TEST_STORE picks.
 */
import type { ChatMessage, ErrorPayload, FileAttachment } from "../src/protocol/types.ts";
import { generateVapidKeys } from "../src/push/web_push_sender.ts";
import { quoteOf } from "../src/store/repository.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { collect, nextEvent, settle, waitFor } from "./helpers/events.ts";
import { browserKeys } from "./helpers/push_receivers.ts";
import { startTestServer, type TestServer } from "./helpers/server.ts";

const KEY = "service-key-that-is-at-least-32-characters";

function service(url: string, path: string, body?: unknown, key = KEY): Promise<Response> {
  return fetch(`${url}/api/service${path}`, {
    method: "POST",
    headers: {
      authorization: `Bearer ${key}`,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

Deno.test("service API: absent without SERVICE_API_KEYS", async () => {
  await using server = await startTestServer();
  const res = await service(server.url, "/messages", {
    senderId: "a",
    receiverId: "b",
    text: "x",
  });
  assertEquals(res.status, 404);
  assertEquals((await res.json()).code, "NOT_FOUND");
  const document = await (await fetch(`${server.url}/openapi.json`)).json();
  assertEquals(Object.keys(document.paths).some((p) => p.startsWith("/api/service")), false);
});

Deno.test("service API: only a configured key opens it", async () => {
  await using server = await startTestServer({
    SERVICE_API_KEYS: `other-key-of-at-least-32-characters-x,${KEY}`,
  });
  const body = { senderId: "alice", receiverId: "bob", text: "hi" };
  for (
    const key of ["", "wrong-key-of-at-least-32-characters-long", await server.token("alice")]
  ) {
    const res = await service(server.url, "/messages", body, key);
    assertEquals(res.status, 401, `key ${JSON.stringify(key.slice(0, 12))}`);
    assertEquals((await res.json()).code, "UNAUTHORIZED");
  }
  const history = await server.api("alice", "/api/chats/history/bob");
  assertEquals(await history.json(), [], "nothing stored by a refused call");
  const document = await (await fetch(`${server.url}/openapi.json`)).json();
  assert(document.paths["/api/service/messages"]?.post, "documented when served");
});

Deno.test("service API: a send as a user is stored, confirmed and delivered like the user's own", async () => {
  await using server = await startTestServer({ SERVICE_API_KEYS: KEY });
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const received = collect(bob, "receiveMessage");
  const confirmed = nextEvent(alice, "messageSent");
  const body = {
    senderId: "alice",
    receiverId: "bob",
    text: "Your order shipped",
    clientMessageId: "order-7",
  };

  const res = await service(server.url, "/messages", body);
  assertEquals(res.status, 201);
  const message: ChatMessage = await res.json();
  assertEquals([message.senderId, message.receiverId, message.text], [
    "alice",
    "bob",
    "Your order shipped",
  ]);
  assertEquals((await confirmed)._id, message._id);

  const again = await service(server.url, "/messages", body);
  assertEquals(again.status, 200, "a repeat with the same clientMessageId");
  assertEquals((await again.json())._id, message._id);
  await settle(bob);
  assertEquals(received.items.map((m) => m._id), [message._id], "bob got it once");

  const history = await (await server.api("bob", "/api/chats/history/alice")).json();
  assertEquals(history.map((m: ChatMessage) => m._id), [message._id]);
});

Deno.test("service API: bad sends are refused with VALIDATION_ERROR and store nothing", async () => {
  await using server = await startTestServer({ SERVICE_API_KEYS: KEY });
  for (
    const body of [
      { receiverId: "bob", text: "no sender" },
      { senderId: "bob", receiverId: "bob", text: "to myself" },
      { senderId: "alice", receiverId: "bob" },
      { senderId: "alice ", receiverId: "bob", text: "blank in the id" },
    ]
  ) {
    const res = await service(server.url, "/messages", body);
    assertEquals(res.status, 400, JSON.stringify(body));
    assertEquals((await res.json()).code, "VALIDATION_ERROR");
  }
  assertEquals(await (await server.api("alice", "/api/chats/my-chats")).json(), []);
  assertEquals(await (await server.api("bob", "/api/chats/my-chats")).json(), []);
});

Deno.test("service API: disconnecting a user tells each socket why and drops it", async () => {
  await using server = await startTestServer({ SERVICE_API_KEYS: KEY });
  const tabs = [await server.connect("bob"), await server.connect("bob")];
  const alice = await server.connect("alice");
  const notices = tabs.map((tab) => nextEvent(tab, "messageError"));
  const drops = tabs.map((tab) =>
    new Promise<string>((resolve) => tab.once("disconnect", (reason) => resolve(reason)))
  );

  const res = await service(server.url, "/users/bob/disconnect", { reason: "Account suspended" });
  assertEquals(res.status, 200);
  assertEquals(await res.json(), { disconnected: 2 });
  for (const notice of await Promise.all(notices) as ErrorPayload[]) {
    assertEquals([notice.code, notice.error], ["UNAUTHORIZED", "Account suspended"]);
  }
  assertEquals(await Promise.all(drops), ["io server disconnect", "io server disconnect"]);
  assert(alice.connected, "other users stay connected");

  const none = await service(server.url, "/users/nobody/disconnect");
  assertEquals(await none.json(), { disconnected: 0 });
});

const VAPID = generateVapidKeys();
const WITH_PUSH = {
  SERVICE_API_KEYS: KEY,
  VAPID_PUBLIC_KEY: VAPID.publicKey,
  VAPID_PRIVATE_KEY: VAPID.privateKey,
  VAPID_SUBJECT: "mailto:ops@example.com",
  // Stored only, never pushed to: every user here has a socket or none is asked.
  PUSH_ENDPOINT_HOSTS: "push.example.com",
};

function serviceCall(url: string, method: string, path: string): Promise<Response> {
  return fetch(`${url}/api/service${path}`, {
    method,
    headers: { authorization: `Bearer ${KEY}` },
  });
}

async function serviceSend(
  server: TestServer,
  senderId: string,
  receiverId: string,
  text: string,
  file?: FileAttachment,
): Promise<ChatMessage> {
  const res = await service(server.url, "/messages", { senderId, receiverId, text, file });
  assertEquals(res.status, 201, await res.clone().text());
  return await res.json();
}

async function upload(server: TestServer, userId: string, name: string): Promise<FileAttachment> {
  const res = await server.api(userId, `/api/uploads?name=${name}`, {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: `the contents of ${name}`,
  });
  assertEquals(res.status, 201, await res.clone().text());
  return await res.json();
}

async function subscribe(server: TestServer, userId: string, device: string): Promise<void> {
  const res = await server.api(userId, "/api/push/subscriptions", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      endpoint: `https://push.example.com/${device}`,
      expirationTime: null,
      keys: browserKeys().json,
    }),
  });
  assertEquals(res.status, 201, await res.clone().text());
}

async function download(server: TestServer, userId: string, file: FileAttachment) {
  const res = await server.api(userId, new URL(file.url).pathname);
  await res.body?.cancel();
  return res.status;
}

async function exported(server: TestServer, userId: string) {
  const res = await serviceCall(server.url, "GET", `/users/${userId}/export`);
  assertEquals(res.status, 200);
  assertEquals(res.headers.get("content-type"), "application/json; charset=utf-8");
  return await res.json();
}

const ids = (items: { _id: string }[]) => items.map((item) => item._id);

/**
 * alice talks with bob (a file each way, a reaction, reports both ways) and
 * with carol; bob and carol talk without her; blocks, a mute and devices.
 */
async function populate(server: TestServer) {
  const { store } = server.parley;
  const aliceFile = await upload(server, "alice", "alice.txt");
  const bobFile = await upload(server, "bob", "bob.txt");
  const carolFile = await upload(server, "carol", "carol.txt");
  const a1 = await serviceSend(server, "alice", "bob", "hello bob", aliceFile);
  const b1 = await serviceSend(server, "bob", "alice", "hi alice", bobFile);
  const a2 = await serviceSend(server, "alice", "carol", "hello carol");
  const c1 = await serviceSend(server, "carol", "bob", "just us", carolFile);
  assert((await store.messages.addReaction(b1._id, "alice", "👍")).ok);
  assert((await store.messages.addReaction(c1._id, "bob", "🎉")).ok);
  assert((await store.messages.hideForUser(a2._id, "carol")).ok);
  const at = new Date().toISOString();
  const report = (messageId: string, reporterId: string, note: string) =>
    store.reports.report({ messageId, reporterId, reason: "spam", note, createdAt: at });
  const filed = await report(b1._id, "alice", "alice's words");
  const against = await report(a1._id, "bob", "bob's words");
  const unrelated = await report(c1._id, "bob", "not about alice");
  assert(filed.ok && against.ok && unrelated.ok);
  await store.blocks.block("alice", "dave", at);
  await store.blocks.block("erin", "alice", at);
  await store.blocks.block("bob", "carol", at);
  await store.mutes.mute("alice", "bob", null);
  await store.mutes.mute("bob", "alice", null);
  await store.mutes.mute("carol", "bob", null);
  await subscribe(server, "alice", "alice-phone");
  await subscribe(server, "alice", "alice-laptop");
  await subscribe(server, "bob", "bob-phone");
  return {
    files: { aliceFile, bobFile, carolFile },
    messages: { a1, b1, a2, c1 },
    reports: { filed: filed.report, against: against.report, unrelated: unrelated.report },
  };
}

Deno.test("service API: an export holds exactly the user's messages, reports, blocks, mutes, devices and uploads", async () => {
  await using server = await startTestServer(WITH_PUSH);
  const { files, messages, reports } = await populate(server);

  const doc = await exported(server, "alice");
  assertEquals(doc.userId, "alice");
  assertEquals(doc.user, null, "alice never connected: no user record");
  assertEquals(ids(doc.messages), ids([messages.a1, messages.b1, messages.a2]), "oldest first");
  assertEquals(doc.messages[0].text, "hello bob");
  assertEquals(doc.messages[1].reactions, [{ emoji: "👍", userIds: ["alice"] }]);
  assertEquals(ids(doc.reportsFiled), [reports.filed._id]);
  assertEquals(doc.reportsFiled[0].note, "alice's words");
  assertEquals(ids(doc.reportsAgainst), [reports.against._id]);
  assertEquals(doc.reportsAgainst[0].reporterId, undefined, "the reporter is not named");
  assertEquals(doc.reportsAgainst[0].note, undefined, "nor their words");
  assertEquals(doc.blocks.map((b: { userId: string }) => b.userId), ["dave"]);
  assertEquals(doc.mutes, [{ partnerId: "bob", until: null }]);
  assertEquals(
    doc.pushSubscriptions.map((s: { endpoint: string }) => s.endpoint).sort(),
    ["https://push.example.com/alice-laptop", "https://push.example.com/alice-phone"],
  );
  assertEquals(doc.pushSubscriptions[0].keys, undefined, "keys are not exported");
  assertEquals(doc.uploads.map((u: { name: string }) => u.name), ["alice.txt"]);
  assertEquals(
    doc.uploads[0]._id,
    new URL(files.aliceFile.url).pathname.split("/").pop(),
  );

  // A user Parley has seen has a record; one it never saw exports empty lists.
  await server.parley.store.users.upsertProfile("bob", { username: "Bob" });
  const bob = await exported(server, "bob");
  assertEquals([bob.user._id, bob.user.username], ["bob", "Bob"]);
  assertEquals(ids(bob.messages), ids([messages.a1, messages.b1, messages.c1]));
  const nobody = await exported(server, "nobody");
  assertEquals([nobody.user, nobody.messages, nobody.uploads], [null, [], []]);
});

Deno.test("service API: an export pages through a long history", async () => {
  await using server = await startTestServer({ SERVICE_API_KEYS: KEY });
  // More than one store page (500), across two conversations interleaved.
  const sent: ChatMessage[] = [];
  for (let i = 0; i < 620; i++) {
    const [from, to] = i % 3 === 0 ? ["carol", "alice"] : ["alice", "bob"];
    sent.push(
      (await server.parley.store.messages.insert({
        senderId: from,
        receiverId: to,
        text: `message ${i}`,
        file: null,
        clientMessageId: null,
      })).message,
    );
  }
  const doc = await exported(server, "alice");
  assertEquals(doc.messages.length, 620);
  assertEquals(ids(doc.messages), ids(sent), "each once, oldest first");
});

Deno.test("service API: erasing a user removes their data for both sides and leaves others' alone", async () => {
  await using server = await startTestServer(WITH_PUSH);
  const { files, messages, reports } = await populate(server);
  for (const userId of ["alice", "bob"]) {
    await server.parley.store.users.upsertProfile(userId, { username: userId });
  }
  const tab = await server.connect("alice");
  // Her connection is stored (presence writes after the handshake) before she is erased.
  await waitFor(
    async () => (await server.parley.store.users.get("alice"))?.isOnline === true,
    "alice online",
  );
  const dropped = new Promise<string>((resolve) => tab.once("disconnect", resolve));

  const found = async (userId: string, q: string) =>
    ids(await (await server.api(userId, `/api/chats/search?q=${q}`)).json());
  assertEquals(await found("bob", "hello"), [messages.a1._id], "searchable before");

  const res = await serviceCall(server.url, "DELETE", "/users/alice");
  assertEquals(res.status, 200);
  assertEquals(await res.json(), {
    userId: "alice",
    disconnected: 1,
    removed: {
      messages: 3,
      conversations: 2,
      groupMemberships: 0,
      uploads: 2, // hers, and bob's file that only her message carried
      subscriptions: 2,
      blocks: 2,
      mutes: 2,
      hiddenMessages: 1,
      reactions: 1,
      reports: 1,
      users: 1,
    },
  });
  assertEquals(await dropped, "io server disconnect");

  // The partners' side.
  const bobHistory = await (await server.api("bob", "/api/chats/history/alice")).json();
  assertEquals(bobHistory, []);
  assertEquals(ids(await (await server.api("bob", "/api/chats/my-chats")).json()), [
    messages.c1._id,
  ]);
  const partners = async (userId: string) =>
    (await (await server.api(userId, "/api/chats/conversations")).json())
      .map((
        row: { user: { _id: string }; unreadCount: number },
      ) => [row.user._id, row.unreadCount]);
  assertEquals(await partners("bob"), [["carol", 1]], "her conversation and its unread count went");
  assertEquals(await (await server.api("carol", "/api/chats/history/alice")).json(), []);
  assertEquals(await partners("carol"), [["bob", 0]]);
  assertEquals(await download(server, "alice", files.aliceFile), 404);
  assertEquals(await download(server, "bob", files.aliceFile), 404);
  assertEquals(await download(server, "bob", files.bobFile), 404);

  assertEquals(await found("bob", "hello"), [], "nor found by search");
  assertEquals(await found("bob", "just"), [messages.c1._id]);

  // Others' data is untouched.
  const bobWithCarol = await (await server.api("bob", "/api/chats/history/carol")).json();
  assertEquals(ids(bobWithCarol), [messages.c1._id]);
  assertEquals(bobWithCarol[0].reactions, [{ emoji: "🎉", userIds: ["bob"] }]);
  assertEquals(await download(server, "bob", files.carolFile), 200);
  const left = await (await serviceCall(server.url, "GET", "/reports")).json();
  assertEquals(ids(left), [reports.unrelated._id, reports.against._id], "hers went; bob's stay");
  const bob = await exported(server, "bob");
  assertEquals(bob.pushSubscriptions.length, 1);
  assertEquals(bob.blocks.map((b: { userId: string }) => b.userId), ["carol"]);
  assertEquals(bob.mutes, [], "his mute of the conversation with her went with it");
  assertEquals(bob.user._id, "bob");

  // Nothing of hers is left, and a repeat removes nothing.
  const alice = await exported(server, "alice");
  assertEquals(
    [alice.user, alice.messages, alice.reportsFiled, alice.blocks, alice.mutes],
    [null, [], [], [], []],
  );
  assertEquals([alice.pushSubscriptions, alice.uploads], [[], []]);
  const again = await (await serviceCall(server.url, "DELETE", "/users/alice")).json();
  assertEquals(Object.values(again.removed).every((n) => n === 0), true, JSON.stringify(again));
  // She may start again from nothing.
  const fresh = await serviceSend(server, "alice", "bob", "new start");
  assertEquals(ids(await (await server.api("bob", "/api/chats/history/alice")).json()), [
    fresh._id,
  ]);
});

Deno.test("service API: reports are listed newest first, paged with before", async () => {
  await using server = await startTestServer({ SERVICE_API_KEYS: KEY });
  const { store } = server.parley;
  const filed = [];
  for (const text of ["one", "two", "three"]) {
    const message = await serviceSend(server, "alice", "bob", text);
    const result = await store.reports.report({
      messageId: message._id,
      reporterId: "bob",
      reason: "abuse",
      note: null,
      createdAt: new Date().toISOString(),
    });
    assert(result.ok);
    filed.push(result.report);
  }
  const first = await (await serviceCall(server.url, "GET", "/reports?limit=2")).json();
  assertEquals(first.map((r: { text: string }) => r.text), ["three", "two"]);
  const next =
    await (await serviceCall(server.url, "GET", `/reports?limit=2&before=${first[1]._id}`))
      .json();
  assertEquals(ids(next), [filed[0]!._id]);
  const bad = await serviceCall(server.url, "GET", "/reports?limit=0");
  assertEquals([bad.status, (await bad.json()).code], [400, "VALIDATION_ERROR"]);
  const refused = await fetch(`${server.url}/api/service/reports`);
  assertEquals(refused.status, 401);
  await refused.body?.cancel();
});

Deno.test("service API: with encryption at rest, the export holds the texts in clear", async () => {
  const key = btoa(String.fromCharCode(...new Uint8Array(32).fill(3)));
  await using server = await startTestServer({
    SERVICE_API_KEYS: KEY,
    MESSAGE_ENCRYPTION_KEYS: `k1:${key}`,
  });
  const sent = await serviceSend(server, "bob", "alice", "a secret");
  const reported = await server.parley.store.reports.report({
    messageId: sent._id,
    reporterId: "alice",
    reason: "other",
    note: null,
    createdAt: new Date().toISOString(),
  });
  assert(reported.ok);
  const doc = await exported(server, "alice");
  assertEquals(doc.messages.map((m: ChatMessage) => m.text), ["a secret"]);
  assertEquals(doc.reportsFiled.map((r: { text: string }) => r.text), ["a secret"]);
});

Deno.test("service API: erasing a member takes them out of their groups with what they sent and their reactions", async () => {
  await using server = await startTestServer({ SERVICE_API_KEYS: KEY });
  const { groups, messages } = server.parley.store;
  const group = await groups.createGroup({
    name: "Trip",
    ownerId: "alice",
    memberIds: ["alice", "bob", "carol"],
    createdAt: new Date().toISOString(),
  });
  const post = async (senderId: string, text: string, replyTo?: ChatMessage) =>
    (await groups.insertMessage({
      groupId: group._id,
      senderId,
      text,
      file: null,
      clientMessageId: null,
      replyTo: replyTo && quoteOf(replyTo),
    })).message;
  const hers = await post("alice", "I booked the train");
  const reply = await post("bob", "great", hers);
  const carols = await post("carol", "see you there");
  assert((await messages.addReaction(carols._id, "alice", "🚆")).ok);
  assert((await messages.addReaction(carols._id, "bob", "🚆")).ok);

  const exported_ = await exported(server, "alice");
  assertEquals(ids(exported_.messages), [hers._id], "what she sent to the group");

  const res = await serviceCall(server.url, "DELETE", "/users/alice");
  const { removed } = await res.json();
  assertEquals([removed.groupMemberships, removed.messages, removed.reactions], [1, 1, 1]);

  const after = await groups.get(group._id);
  assertEquals([after?.ownerId, after?.memberIds], ["bob", ["bob", "carol"]], "bob owns it now");
  const history = await groups.history(group._id, { limit: 10, skip: 0 });
  assertEquals(ids(history), [reply._id, carols._id]);
  assertEquals(history[0]!.replyTo, { _id: hers._id, deleted: true }, "her words left the quote");
  assertEquals(history[1]!.reactions, [{ emoji: "🚆", userIds: ["bob"] }]);
});
