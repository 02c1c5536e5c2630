/**
 * The REST routes in-process, through Hono's `app.request()`: no port, no
 * sockets. The app is built as src/server.ts builds it, from the same config,
 * on an in-memory SQLite store; messages are sent through the chat service
 * (REST has no send route), and notifications go nowhere since nobody is
 * connected. tests/rest_test.ts runs the same routes over a real port.
 */
import type { Hono } from "hono";
import { createTokenVerifier } from "../src/auth/tokens.ts";
import type { Broadcaster } from "../src/chat/broadcaster.ts";
import { ChatService, type LiveDelivery } from "../src/chat/chat_service.ts";
import { loadConfig } from "../src/config.ts";
import { createHttpApp } from "../src/http/app.ts";
import { unlimited } from "../src/limits/rate_limiter.ts";
import { createLogger } from "../src/log.ts";
import { createMetrics } from "../src/metrics/metrics.ts";
import type { ChatMessage, ConversationRow } from "../src/protocol/types.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { jsonOf } from "./helpers/http.ts";
import { memoryBackend } from "./helpers/memory_backend.ts";
import { signToken, TEST_SECRET } from "./helpers/server.ts";

/** Nobody is connected in-process: there is no one to notify. */
const nobody: Broadcaster & LiveDelivery = {
  toUsers() {},
  toUsersExcept() {},
  toEveryone() {},
  toEveryoneExcept() {},
  deliver() {},
  deliverToMany() {},
};

interface InProcessApp extends AsyncDisposable {
  app: Hono;
  chat: ChatService;
  /** `app.request()` with a valid token for `userId`. */
  as(userId: string, path: string, init?: RequestInit): Promise<Response>;
}

async function inProcessApp(): Promise<InProcessApp> {
  const config = loadConfig({
    JWT_SECRET: TEST_SECRET,
    LOG_LEVEL: "silent",
    SQLITE_PATH: ":memory:",
  });
  const backend = await memoryBackend();
  const chat = new ChatService(backend.chat, nobody, nobody);
  const app = await createHttpApp({
    chat,
    verifier: createTokenVerifier(config.auth, new TextEncoder().encode(TEST_SECRET)),
    corsOrigins: config.corsOrigins,
    hosts: config.hosts,
    ready: () => backend.ping(),
    limiter: unlimited,
    maxBodyBytes: config.limits.bodyBytes,
    metrics: createMetrics(),
    trustProxy: false,
    log: createLogger("silent"),
  });
  return {
    app,
    chat,
    async as(userId, path, init = {}) {
      const headers = new Headers(init.headers);
      headers.set("authorization", `Bearer ${await signToken(userId)}`);
      return await app.request(path, { ...init, headers });
    },
    [Symbol.asyncDispose]: () => backend[Symbol.asyncDispose](),
  };
}

Deno.test("REST in-process: /api/chats refuses a missing, malformed, forged or expired token with 401", async (t) => {
  await using rest = await inProcessApp();
  const expired = await signToken("alice", {}, TEST_SECRET, Math.floor(Date.now() / 1000) - 10);
  const forged = await signToken("alice", {}, "another-secret-another-secret-another-secret");
  const headers: Record<string, Record<string, string>> = {
    "no header": {},
    "not a Bearer token": { authorization: `Basic ${btoa("alice:pw")}` },
    "not a JWT": { authorization: "Bearer not.a.jwt" },
    "another key": { authorization: `Bearer ${forged}` },
    "expired": { authorization: `Bearer ${expired}` },
  };
  for (const [what, given] of Object.entries(headers)) {
    await t.step(what, async () => {
      const { status, body } = await jsonOf(
        await rest.app.request("/api/chats/my-chats", { headers: given }),
      );
      assertEquals(status, 401);
      assertEquals(body.code, "UNAUTHORIZED");
      assertEquals(typeof body.error, "string");
    });
  }
  const ok = await rest.as("alice", "/api/chats/my-chats");
  assertEquals([ok.status, await ok.json()], [200, []]);
});

Deno.test("REST in-process: a bad query is 400 VALIDATION_ERROR naming the field", async (t) => {
  await using rest = await inProcessApp();
  const refused = {
    "limit 0": ["/api/chats/my-chats?limit=0", /limit/],
    "limit past 200": ["/api/chats/conversations?limit=201", /limit/],
    "limit not an integer": ["/api/chats/my-chats?limit=1e3", /limit/],
    "skip negative": ["/api/chats/history/bob?skip=-1", /skip/],
    "skip past 10000": ["/api/chats/history/bob?skip=10001", /skip.*before/],
    "before not a message id": ["/api/chats/history/bob?before=not-an-id", /before/],
    "a malformed message id": ["/api/chats/not-an-id", /messageId/],
  } as const;
  for (const [what, [path, names]] of Object.entries(refused)) {
    await t.step(what, async () => {
      const method = path.startsWith("/api/chats/not-an-id") ? "DELETE" : "GET";
      const { status, body } = await jsonOf(await rest.as("alice", path, { method }));
      assertEquals(status, 400, JSON.stringify(body));
      assertEquals(Object.keys(body).sort(), ["code", "error"]);
      assertEquals(body.code, "VALIDATION_ERROR");
      assert(names.test(body.error), body.error);
    });
  }
});

Deno.test("REST in-process: history pages oldest first by limit, skip and before", async () => {
  await using rest = await inProcessApp();
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) {
    const from = i % 2 ? "bob" : "alice";
    const to = i % 2 ? "alice" : "bob";
    ids.push((await rest.chat.sendMessage(from, { receiverId: to, text: `m${i}` })).message._id);
  }
  await rest.chat.sendMessage("alice", { receiverId: "carol", text: "elsewhere" });
  const texts = async (userId: string, path: string) => {
    const res = await rest.as(userId, path);
    assertEquals(res.status, 200);
    return (await res.json() as ChatMessage[]).map((m) => m.text);
  };
  const all = ["m0", "m1", "m2", "m3", "m4", "m5", "m6"];
  assertEquals(await texts("alice", "/api/chats/history/bob"), all);
  assertEquals(await texts("bob", "/api/chats/history/alice"), all, "either side");
  assertEquals(await texts("alice", "/api/chats/history/bob?limit=3"), ["m4", "m5", "m6"]);
  assertEquals(await texts("alice", "/api/chats/history/bob?limit=3&skip=3"), ["m1", "m2", "m3"]);
  assertEquals(await texts("alice", `/api/chats/history/bob?limit=2&before=${ids[3]}`), [
    "m1",
    "m2",
  ]);
  assertEquals(await texts("carol", "/api/chats/history/bob"), [], "not carol's conversation");
});

Deno.test("REST in-process: conversations list one row per partner, most recent first, with unread counts", async () => {
  await using rest = await inProcessApp();
  await rest.chat.sendMessage("bob", { receiverId: "alice", text: "b1" });
  const fromBob = await rest.chat.sendMessage("bob", { receiverId: "alice", text: "b2" });
  await rest.chat.sendMessage("carol", { receiverId: "alice", text: "c1" });
  const last = await rest.chat.sendMessage("alice", { receiverId: "dave", text: "d1" });
  await rest.chat.markRead("alice", fromBob.message._id);

  const res = await rest.as("alice", "/api/chats/conversations");
  assertEquals(res.status, 200);
  const rows = await res.json() as ConversationRow[];
  assertEquals(rows.map((r) => [r.user._id, r.lastMessage?.text, r.unreadCount]), [
    ["dave", "d1", 0],
    ["carol", "c1", 1],
    ["bob", "b2", 1],
  ]);
  assertEquals(rows[0]!.lastMessage, last.message);

  const page = await rest.as("alice", "/api/chats/conversations?limit=1&skip=1");
  assertEquals((await page.json() as ConversationRow[]).map((r) => r.user._id), ["carol"]);
});
