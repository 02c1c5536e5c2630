/**
 * `GET /api/chats/search`: the caller's own messages holding every word of
 * `q`, case-insensitively, newest first; `with`, `limit`, `before`; refused
 * (409 SEARCH_UNAVAILABLE) when messages are encrypted at rest.
 */
import { assertEquals } from "./helpers/assert.ts";
import { send } from "./helpers/messages.ts";
import { startTestServer } from "./helpers/server.ts";

Deno.test("search finds the caller's messages holding every word, newest first", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const carol = await server.connect("carol");
  const first = await send(alice, "bob", "Pizza tonight at Luigi's?");
  const second = await send(bob, "alice", "pizza TONIGHT sounds great");
  await send(alice, "bob", "pizza tomorrow then");
  const third = await send(carol, "alice", "tonight: pizza party");
  await send(bob, "carol", "pizza tonight, carol?"); // not alice's

  const search = async (user: string, query: string) => {
    const res = await server.api(user, `/api/chats/search?${query}`);
    const body = await res.json();
    return { status: res.status, body };
  };
  const all = await search("alice", "q=tonight+PIZZA");
  assertEquals(all.status, 200);
  assertEquals(all.body.map((m: { _id: string }) => m._id), [third._id, second._id, first._id]);

  const withBob = await search("alice", "q=pizza%20tonight&with=bob");
  assertEquals(withBob.body.map((m: { _id: string }) => m._id), [second._id, first._id]);
  const limited = await search("alice", "q=pizza+tonight&limit=1");
  assertEquals(limited.body.map((m: { _id: string }) => m._id), [third._id]);
  const older = await search("alice", `q=pizza+tonight&limit=20&before=${third._id}`);
  assertEquals(older.body.map((m: { _id: string }) => m._id), [second._id, first._id]);
  assertEquals((await search("alice", "q=sushi")).body, []);

  // Deleted for me: gone from the caller's search only.
  const hide = await server.api("alice", `/api/chats/${second._id}?for=me`, { method: "DELETE" });
  assertEquals(hide.status, 200);
  const afterHide = await search("alice", "q=pizza+tonight");
  assertEquals(afterHide.body.map((m: { _id: string }) => m._id), [third._id, first._id]);
  const bobStill = await search("bob", "q=pizza+tonight&with=alice");
  assertEquals(bobStill.body.map((m: { _id: string }) => m._id), [second._id, first._id]);
});

Deno.test("search validates q, limit, with and before", async () => {
  await using server = await startTestServer();
  for (
    const query of [
      "",
      "q=",
      "q=%20%20",
      `q=${"x".repeat(201)}`,
      "q=a&limit=0",
      "q=a&limit=101",
      "q=a&before=!!",
      "q=a&limit=1e3",
    ]
  ) {
    const res = await server.api("alice", `/api/chats/search?${query}`);
    assertEquals([res.status, (await res.json()).code], [400, "VALIDATION_ERROR"], query);
  }
  const unauthenticated = await fetch(`${server.url}/api/chats/search?q=a`);
  assertEquals(unauthenticated.status, 401);
  await unauthenticated.body?.cancel();
});

Deno.test("with MESSAGE_ENCRYPTION_KEYS search answers 409 SEARCH_UNAVAILABLE", async () => {
  const key = btoa(String.fromCharCode(...new Uint8Array(32).fill(7)));
  await using server = await startTestServer({ MESSAGE_ENCRYPTION_KEYS: `k1:${key}` });
  const alice = await server.connect("alice");
  await send(alice, "bob", "secret pizza");
  const res = await server.api("alice", "/api/chats/search?q=pizza");
  assertEquals([res.status, (await res.json()).code], [409, "SEARCH_UNAVAILABLE"]);
});
