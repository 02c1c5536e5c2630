import { assert, assertEquals } from "./helpers/assert.ts";
import { nextEvent } from "./helpers/events.ts";
import { startTestServer, type TestServer } from "./helpers/server.ts";
import { send } from "./helpers/messages.ts";
import { jsonOf } from "./helpers/http.ts";

async function expectError(res: Promise<Response>, status: number, code: string) {
  const got = await jsonOf(await res);
  assertEquals(got.status, status, JSON.stringify(got.body));
  assertEquals(got.body.code, code);
  assertEquals(typeof got.body.error, "string");
}

Deno.test("REST: every /api/chats route needs a valid Bearer token", async () => {
  await using server = await startTestServer();
  const routes = [
    ["GET", "/api/chats/my-chats"],
    ["GET", "/api/chats/conversations"],
    ["GET", "/api/chats/history/bob"],
    ["DELETE", "/api/chats/01ARZ3NDEKTSV4RRFFQ69G5FAV"],
  ];
  for (const [method, path] of routes) {
    await expectError(fetch(`${server.url}${path}`, { method }), 401, "UNAUTHORIZED");
    await expectError(
      fetch(`${server.url}${path}`, { method, headers: { authorization: "Bearer not.a.jwt" } }),
      401,
      "UNAUTHORIZED",
    );
    const { signToken } = await import("./helpers/server.ts");
    const expired = await signToken("alice", {}, undefined, Math.floor(Date.now() / 1000) - 10);
    await expectError(
      fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${expired}` } }),
      401,
      "UNAUTHORIZED",
    );
    const forged = await signToken("alice", {}, "another-secret-another-secret-another-secret");
    await expectError(
      fetch(`${server.url}${path}`, { method, headers: { authorization: `Bearer ${forged}` } }),
      401,
      "UNAUTHORIZED",
    );
  }
});

Deno.test("REST: history, my-chats and conversations reflect what was sent and read", async (t) => {
  await using server: TestServer = await startTestServer();
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const carol = await server.connect("carol");
  const m1 = await send(alice, "bob", "one");
  const m2 = await send(bob, "alice", "two");
  const m3 = await send(alice, "bob", "three");
  const m4 = await send(carol, "alice", "from carol");

  await t.step("history with a user, oldest first, paged like the socket", async () => {
    const all = await jsonOf(await server.api("alice", "/api/chats/history/bob"));
    assertEquals(all.status, 200);
    assertEquals(all.body.map((m: { _id: string }) => m._id), [m1._id, m2._id, m3._id]);
    const page = await jsonOf(await server.api("bob", "/api/chats/history/alice?limit=1&skip=1"));
    assertEquals(page.body.map((m: { text: string }) => m.text), ["two"]);
    const before = await jsonOf(
      await server.api("bob", `/api/chats/history/alice?before=${m3._id}`),
    );
    assertEquals(before.body.map((m: { text: string }) => m.text), ["one", "two"]);
  });

  await t.step("my-chats: messages I sent or received, newest first", async () => {
    const mine = await jsonOf(await server.api("alice", "/api/chats/my-chats"));
    assertEquals(mine.body.map((m: { _id: string }) => m._id), [m4._id, m3._id, m2._id, m1._id]);
    const bobs = await jsonOf(await server.api("bob", "/api/chats/my-chats?limit=2"));
    assertEquals(bobs.body.map((m: { _id: string }) => m._id), [m3._id, m2._id]);
  });

  await t.step(
    "conversations: one row per partner, newest first, with unread counts",
    async () => {
      const rows = await jsonOf(await server.api("alice", "/api/chats/conversations"));
      assertEquals(rows.status, 200);
      assertEquals(rows.body.length, 2);
      const [first, second] = rows.body;
      assertEquals(first.user, {
        _id: "carol",
        username: null,
        isOnline: true,
        lastSeen: first.user.lastSeen,
      });
      assertEquals(first.lastMessage._id, m4._id);
      assertEquals(first.unreadCount, 1);
      assertEquals(second.user._id, "bob");
      assertEquals(second.lastMessage._id, m3._id);
      assertEquals(second.unreadCount, 1);

      const bobRows = await jsonOf(await server.api("bob", "/api/chats/conversations"));
      assertEquals(bobRows.body.length, 1);
      assertEquals(bobRows.body[0].unreadCount, 2);
      const read = await bob.timeout(3000).emitWithAck("messageRead", { messageId: m1._id });
      assert(read.ok);
      const after = await jsonOf(await server.api("bob", "/api/chats/conversations"));
      assertEquals(after.body[0].unreadCount, 1);
    },
  );

  await t.step("bad paging is a 400 VALIDATION_ERROR", async () => {
    // skip past 10,000 would walk every skipped row in one request: `before` pages further.
    for (const query of ["limit=0", "limit=201", "skip=-1", "skip=10001", "limit=abc"]) {
      await expectError(
        server.api("alice", `/api/chats/my-chats?${query}`),
        400,
        "VALIDATION_ERROR",
      );
      await expectError(
        server.api("alice", `/api/chats/history/bob?${query}`),
        400,
        "VALIDATION_ERROR",
      );
    }
  });
});

Deno.test("REST: DELETE removes the sender's message everywhere and tells both users' sockets", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const keep = await send(alice, "bob", "keep me");
  const gone = await send(alice, "bob", "delete me");

  await expectError(
    server.api("bob", `/api/chats/${gone._id}`, { method: "DELETE" }),
    403,
    "FORBIDDEN",
  );
  await expectError(
    server.api("carol", `/api/chats/${gone._id}`, { method: "DELETE" }),
    403,
    "FORBIDDEN",
  );
  await expectError(
    server.api("alice", "/api/chats/01ARZ3NDEKTSV4RRFFQ69G5FAV", { method: "DELETE" }),
    404,
    "NOT_FOUND",
  );
  assertEquals((await server.parley.store.messages.get(gone._id))?.text, "delete me");

  const aliceHears = nextEvent(alice, "messageDeleted");
  const bobHears = nextEvent(bob, "messageDeleted");
  const res = await jsonOf(
    await server.api("alice", `/api/chats/${gone._id}`, { method: "DELETE" }),
  );
  assertEquals(res, { status: 200, body: { deleted: true, messageId: gone._id } });
  assertEquals(await aliceHears, { messageId: gone._id });
  assertEquals(await bobHears, { messageId: gone._id });

  const history = await jsonOf(await server.api("bob", "/api/chats/history/alice"));
  assertEquals(history.body.map((m: { _id: string }) => m._id), [keep._id]);
  const mine = await jsonOf(await server.api("bob", "/api/chats/my-chats"));
  assertEquals(mine.body.map((m: { _id: string }) => m._id), [keep._id]);
  const rows = await jsonOf(await server.api("bob", "/api/chats/conversations"));
  assertEquals(rows.body[0].lastMessage._id, keep._id);
  assertEquals(rows.body[0].unreadCount, 1);
  const read = await bob.timeout(3000).emitWithAck("messageRead", { messageId: gone._id });
  assert(!read.ok);
  assertEquals(read.code, "NOT_FOUND");
  await expectError(
    server.api("alice", `/api/chats/${gone._id}`, { method: "DELETE" }),
    404,
    "NOT_FOUND",
  );
});

Deno.test("REST: healthz needs no token; unknown routes are JSON 404s", async () => {
  await using server = await startTestServer();
  assertEquals(await jsonOf(await fetch(`${server.url}/healthz`)), {
    status: 200,
    body: { status: "ok" },
  });
  await expectError(fetch(`${server.url}/api/nope`), 404, "NOT_FOUND");
  // Not in dev mode: no token minting.
  await expectError(
    fetch(`${server.url}/api/dev/token`, {
      method: "POST",
      body: JSON.stringify({ userId: "x" }),
    }),
    404,
    "NOT_FOUND",
  );
});

Deno.test("the test page and the Socket.IO client are served by the app itself", async () => {
  await using server = await startTestServer();
  for (const path of ["/", "/test-websocket.html"]) {
    const res = await fetch(`${server.url}${path}`);
    assertEquals(res.status, 200);
    assert(res.headers.get("content-type")?.startsWith("text/html"));
    const html = await res.text();
    assert(html.includes("/socket.io/socket.io.min.js"), "page loads the client from the server");
    assert(!/https?:\/\/cdn/.test(html), "no CDN");
  }
  const client = await fetch(`${server.url}/socket.io/socket.io.min.js`);
  assertEquals(client.status, 200);
  assert((await client.text()).length > 10_000);
  assertEquals((await fetch(`${server.url}/app.js`).then((r) => r.text())).length > 0, true);
});
