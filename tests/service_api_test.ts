/**
 * The service API (`/api/service/*`): the host backend sends as a user and
 * disconnects a user, with a key from SERVICE_API_KEYS and nothing else.
 */
import type { ChatMessage, ErrorPayload } from "../src/protocol/types.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { collect, nextEvent, settle } from "./helpers/events.ts";
import { startTestServer } from "./helpers/server.ts";

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
