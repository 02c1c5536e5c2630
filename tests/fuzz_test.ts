/**
 * Hostile payloads to every socket event and every route, from a seeded
 * generator: the server never crashes or hangs, answers each with a
 * well-formed error (or a harmless success), and the store is unchanged.
 * `deno task fuzz` runs longer (FUZZ_RUNS, FUZZ_SEED).
 */
import { ERROR_CODES } from "../src/errors.ts";
import type { ClientToServerEvents } from "../src/protocol/types.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { startTestServer, type TestServer } from "./helpers/server.ts";

const RUNS = Number(Deno.env.get("FUZZ_RUNS") ?? 2000);
const SEED = Number(Deno.env.get("FUZZ_SEED") ?? 20261125);

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
function prng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)]!;
  return { next, int, pick };
}
type Rng = ReturnType<typeof prng>;

function deep(depth: number): unknown {
  let value: unknown = "bottom";
  for (let i = 0; i < depth; i++) value = i % 2 ? [value] : { nested: value };
  return value;
}

function protoPollution(): unknown {
  return JSON.parse(
    '{"__proto__": {"admin": true}, "constructor": {"prototype": {"polluted": 1}}}',
  );
}

/** Values no field of the contract accepts in place of a string id. */
function badId(r: Rng): unknown {
  return r.pick<() => unknown>([
    () => "",
    () => "   ",
    () => "x".repeat(129 + r.int(5000)),
    () => r.int(1e9),
    () => null,
    () => true,
    () => [],
    () => ["alice"],
    () => ({ $ne: null }),
    () => ({ $gt: "" }),
    () => ({ $where: "sleep(1000)" }),
    () => "\ud800broken",
    () => "tab\there",
    () => "nul\u0000byte",
    () => protoPollution(),
    () => deep(50 + r.int(500)),
    () => new Uint8Array(r.int(64)),
  ])();
}

function badText(r: Rng): unknown {
  return r.pick<() => unknown>([
    () => "x".repeat(5001 + r.int(20000)),
    () => " \n\t ",
    () => 42,
    () => ({ $ne: null }),
    () => ["hi"],
    () => "half \udc00 surrogate",
    () => protoPollution(),
    () => new Uint8Array(16),
  ])();
}

function badPage(r: Rng): Record<string, unknown> {
  return r.pick<() => Record<string, unknown>>([
    () => ({ limit: 0 }),
    () => ({ limit: 201 + r.int(1e6) }),
    () => ({ limit: 2.5 }),
    () => ({ limit: "50" }),
    () => ({ skip: -1 - r.int(100) }),
    () => ({ skip: { $gt: 0 } }),
    () => ({ before: { $ne: null } }),
    () => ({ before: "not/an/id" }),
    () => ({ limit: Number.NaN }),
  ])();
}

/** Values no reaction accepts as its emoji. */
function badEmoji(r: Rng): unknown {
  return r.pick<() => unknown>([
    () => "",
    () => "a",
    () => "👍👍",
    () => "❤", // the text form, not fully qualified
    () => "👨‍👩‍👧‍👦", // one grapheme, but 25 bytes
    () => "\ud83d",
    () => "x".repeat(1 + r.int(5000)),
    () => r.int(1e6),
    () => ({ $ne: null }),
    () => ["👍"],
    () => protoPollution(),
  ])();
}

/** A message of alice and bob's: the fuzzer may not touch it. */
function seededId(r: Rng): string {
  return seededIds[r.int(seededIds.length)]!;
}

/** One invalid (or forbidden) call: [event, args]. */
function hostileEvent(r: Rng): [keyof ClientToServerEvents, unknown[]] {
  const event = r.pick(
    [
      "sendMessage",
      "typing",
      "getChatHistory",
      "messageRead",
      "setUserId",
      "editMessage",
      "addReaction",
      "removeReaction",
      "blockUser",
      "unblockUser",
      "createGroup",
      "addGroupMembers",
      "removeGroupMember",
      "leaveGroup",
      "renameGroup",
      "markGroupRead",
    ] as const,
  );
  const whole = r.next() < 0.15;
  if (whole) {
    return [event, [
      r.pick([undefined, null, 0, "str", [], deep(200), protoPollution(), new Uint8Array(8)]),
    ]];
  }
  switch (event) {
    case "sendMessage": {
      const base: Record<string, unknown> = { receiverId: "bob", text: "hello" };
      return [event, [
        r.pick<() => Record<string, unknown>>([
          () => ({ ...base, receiverId: badId(r) }),
          () => ({ ...base, text: badText(r) }),
          () => ({ receiverId: "bob" }),
          () => ({ ...base, senderId: "alice" }), // forged: FORBIDDEN
          () => ({ ...base, senderId: badId(r) }),
          () => ({ ...base, clientMessageId: badId(r) }),
          () => ({
            ...base,
            file: {
              url: r.pick(["javascript:alert(1)", "ftp://x/y", "//evil", 5]),
              type: "image",
              name: "a",
              size: 1,
            },
          }),
          () => ({
            ...base,
            file: {
              url: "https://x.example/a",
              type: r.pick(["exe", 1, null]),
              name: "a",
              size: 1,
            },
          }),
          () => ({
            ...base,
            file: {
              url: "https://x.example/a",
              type: "image",
              name: "a",
              size: r.pick([0, -1, 1.5, "1", 2 ** 60]),
            },
          }),
          () => ({ ...base, receiverId: "fuzzer" }), // to yourself
          () => ({ ...base, replyTo: badId(r) }),
          () => ({ ...base, replyTo: seededId(r) }), // another conversation's: VALIDATION_ERROR
          () => ({ ...base, ...protoPollution() as object, receiverId: badId(r) }),
          () => ({ ...base, groupId: seededGroupId }), // both: VALIDATION_ERROR
          () => ({ text: "hello", groupId: seededGroupId }), // not a member: FORBIDDEN
          () => ({ text: "hello", groupId: badId(r) }),
          () => ({ text: "hello", groupId: "0".repeat(24) }), // unknown: NOT_FOUND
          () => ({ text: badText(r), groupId: seededGroupId }),
        ])(),
      ]];
    }
    case "typing":
      return [event, [
        r.pick<() => unknown>([
          () => ({ receiverId: badId(r), isTyping: true }),
          () => ({ receiverId: "bob", isTyping: r.pick(["yes", 1, null, {}, []]) }),
          () => ({ isTyping: true }),
          () => ({ groupId: seededGroupId, isTyping: true }), // not a member: FORBIDDEN
          () => ({ groupId: badId(r), isTyping: true }),
          () => ({ groupId: seededGroupId, receiverId: "bob", isTyping: true }),
        ])(),
      ]];
    case "getChatHistory":
      return [event, [
        r.pick<() => unknown>([
          () => ({ userId1: "alice", userId2: "bob" }), // someone else's: FORBIDDEN
          () => ({ userId1: badId(r), userId2: "fuzzer" }),
          () => ({ userId1: "fuzzer", userId2: "alice", ...badPage(r) }),
          () => ({ userId1: { $ne: null }, userId2: { $ne: null } }),
          () => ({ groupId: seededGroupId }), // not a member: FORBIDDEN
          () => ({ groupId: badId(r), ...badPage(r) }),
          () => ({ groupId: seededGroupId, userId1: "fuzzer", userId2: "alice" }),
        ])(),
      ]];
    case "messageRead":
      return [event, [
        r.pick<() => unknown>([
          () => ({ messageId: badId(r) }),
          () => ({ messageId: "0".repeat(24) }), // unknown: NOT_FOUND
          () => ({ messageId: seededIds[r.int(seededIds.length)] }), // not the receiver: FORBIDDEN
          () => ({}),
        ])(),
      ]];
    case "setUserId":
      return [event, [r.pick<() => unknown>([() => "alice", () => badId(r)])()]];
    case "editMessage":
      return [event, [
        r.pick<() => unknown>([
          () => ({ messageId: seededId(r), text: "mine now" }), // not the sender: FORBIDDEN
          () => ({ messageId: seededId(r), text: badText(r) }),
          () => ({ messageId: badId(r), text: "x" }),
          () => ({ messageId: "0".repeat(24), text: "x" }), // unknown: NOT_FOUND
          () => ({ messageId: seededId(r) }),
        ])(),
      ]];
    case "addReaction":
    case "removeReaction":
      return [event, [
        r.pick<() => unknown>([
          () => ({ messageId: seededId(r), emoji: "👍" }), // not a participant: FORBIDDEN
          () => ({ messageId: seededId(r), emoji: badEmoji(r) }),
          () => ({ messageId: badId(r), emoji: "👍" }),
          () => ({ emoji: "👍" }),
        ])(),
      ]];
    case "blockUser":
    case "unblockUser":
      return [event, [
        r.pick<() => unknown>([
          () => ({ userId: badId(r) }),
          () => ({ userId: "fuzzer" }), // yourself: VALIDATION_ERROR
          () => ({}),
          () => "bob",
        ])(),
      ]];
    case "createGroup":
      return [event, [
        r.pick<() => unknown>([
          () => ({ name: badText(r), memberIds: ["bob"] }),
          () => ({ name: r.pick(["", "  ", "x".repeat(101)]), memberIds: ["bob"] }),
          () => ({ name: "g", memberIds: r.pick([[], ["fuzzer"], ["fuzzer", "fuzzer"]]) }), // alone
          () => ({ name: "g", memberIds: [badId(r)] }),
          () => ({ name: "g", memberIds: r.pick(["bob", { $ne: null }, null, 5, {}]) }),
          () => ({ name: "g", memberIds: Array.from({ length: 300 }, (_, i) => `u${i}`) }), // > 256
          () => ({ memberIds: ["bob"] }),
        ])(),
      ]];
    case "addGroupMembers":
      return [event, [
        r.pick<() => unknown>([
          () => ({ groupId: seededGroupId, userIds: ["fuzzer"] }), // not the owner: FORBIDDEN
          () => ({ groupId: badId(r), userIds: ["bob"] }),
          () => ({ groupId: seededGroupId, userIds: r.pick([[], [badId(r)], badId(r)]) }),
        ])(),
      ]];
    case "removeGroupMember":
      return [event, [
        r.pick<() => unknown>([
          () => ({ groupId: seededGroupId, userId: "bob" }), // not the owner: FORBIDDEN
          () => ({ groupId: seededGroupId, userId: badId(r) }),
          () => ({ groupId: badId(r), userId: "bob" }),
        ])(),
      ]];
    case "leaveGroup":
      return [event, [
        r.pick<() => unknown>([
          () => ({ groupId: seededGroupId }), // not a member: FORBIDDEN
          () => ({ groupId: badId(r) }),
          () => ({}),
        ])(),
      ]];
    case "renameGroup":
      return [event, [
        r.pick<() => unknown>([
          () => ({ groupId: seededGroupId, name: "mine" }), // not a member: FORBIDDEN
          () => ({ groupId: seededGroupId, name: badText(r) }),
          () => ({ groupId: badId(r), name: "x" }),
        ])(),
      ]];
    case "markGroupRead":
      return [event, [
        r.pick<() => unknown>([
          () => ({ groupId: seededGroupId, messageId: seededGroupMessageId }), // FORBIDDEN
          () => ({ groupId: seededGroupId, messageId: badId(r) }),
          () => ({ groupId: badId(r), messageId: seededGroupMessageId }),
        ])(),
      ]];
  }
}

function hostileRequest(r: Rng): { method: string; path: string; body?: string } {
  const enc = (value: unknown) => {
    try {
      return encodeURIComponent(typeof value === "string" ? value : JSON.stringify(value) ?? "x");
    } catch {
      return "%ED%A0%80broken"; // a lone surrogate as raw bytes: invalid UTF-8 on the wire
    }
  };
  return r.pick<() => { method: string; path: string; body?: string }>([
    () => ({ method: "GET", path: `/api/chats/history/${enc(badId(r))}` }),
    () => ({
      method: "GET",
      path: `/api/chats/history/bob?limit=${enc(r.pick(["0", "-5", "abc", "1e9", "[]", "NaN"]))}`,
    }),
    () => ({
      method: "GET",
      path: `/api/chats/my-chats?skip=${enc(r.pick(["-1", "{}", "x"]))}&limit=${r.int(1000) - 500}`,
    }),
    () => ({ method: "GET", path: `/api/chats/history/bob?before=${enc(badId(r))}` }),
    () => ({
      method: "GET",
      path: `/api/chats/conversations?limit=${enc(badPage(r).limit ?? "x")}`,
    }),
    () => ({ method: "DELETE", path: `/api/chats/${enc(badId(r))}` }),
    () => ({ method: "DELETE", path: `/api/chats/${seededIds[r.int(seededIds.length)]}` }), // not the sender
    () => ({ method: "POST", path: "/api/chats/my-chats", body: JSON.stringify(deep(300)) }),
    () => ({
      method: r.pick(["PUT", "PATCH", "POST"]),
      path: `/api/chats/${r.pick(["my-chats", "conversations", "x"])}`,
    }),
    () => ({ method: "GET", path: `/api/${enc(badId(r))}/../../etc/passwd` }),
    () => ({
      method: "PATCH",
      path: `/api/chats/${r.pick([seededId(r), enc(badId(r))])}`, // not the sender, or malformed
      body: JSON.stringify({ text: r.pick<() => unknown>([() => "mine", () => badText(r)])() }),
    }),
    () => ({
      method: r.pick(["PUT", "DELETE"]),
      path: `/api/chats/${seededId(r)}/reactions/${enc(r.pick([badEmoji(r), "👍"]))}`,
    }),
    () => ({
      method: "GET",
      path: `/api/chats/search?${
        r.pick([
          "",
          "q=",
          `q=${"x".repeat(201)}`,
          `q=a&limit=${enc(r.pick(["0", "101", "x", "-1"]))}`,
          `q=a&with=${enc(badId(r))}`,
          `q=a&before=${enc(badId(r))}`,
        ])
      }`,
    }),
    () => ({
      method: "POST",
      path: `/api/chats/${seededId(r)}/report`, // not the receiver, or a bad body
      body: JSON.stringify(
        r.pick<() => unknown>([
          () => ({ reason: "spam" }),
          () => ({ reason: r.pick(["", "SPAM", 1, null]) }),
          () => ({ reason: "other", note: badText(r) }),
          () => deep(100),
        ])(),
      ),
    }),
    () => ({
      method: "PUT",
      path: `/api/chats/conversations/${r.pick(["bob", ...BAD_PATH_USERS])}/mute`,
      body: JSON.stringify({ until: r.pick(["tomorrow", "2020-01-01T00:00:00Z", 5, {}]) }),
    }),
    () => ({
      method: r.pick(["PUT", "DELETE"]),
      path: `/api/users/${r.pick(BAD_PATH_USERS)}/block`,
    }),
    () => ({ method: "DELETE", path: `/api/chats/${seededId(r)}?for=${r.pick(["me", "x", ""])}` }),
    () => ({
      method: "GET",
      path: `/api/groups/${r.pick([seededGroupId, enc(badId(r))])}${
        r.pick(["", "/history", `/history?limit=${enc(badPage(r).limit ?? "x")}`])
      }`,
    }),
    () => ({
      method: "GET",
      path: `/api/groups/${seededGroupId}/messages/${
        r.pick([seededGroupMessageId, enc(badId(r))])
      }/reads`,
    }),
    () => ({
      method: r.pick(["PUT", "DELETE"]),
      path: `/api/groups/${r.pick([seededGroupId, enc(badId(r))])}/mute`,
      body: JSON.stringify({ until: r.pick(["tomorrow", "2020-01-01T00:00:00Z", 5, {}]) }),
    }),
    () => ({ method: "DELETE", path: `/api/chats/${seededGroupMessageId}` }), // not the sender
    () => ({
      method: "PUT",
      path: `/api/chats/${seededGroupMessageId}/reactions/${enc("👍")}`, // not a member
    }),
  ])();
}

/** User ids in a path that no route accepts (any other text is someone's id). */
const BAD_PATH_USERS = ["fuzzer", "x".repeat(129), "%20bob", "tab%09x"];

let seededIds: string[] = [];
/** A group of alice and bob's, and a message of it: the fuzzer is no member. */
let seededGroupId = "";
let seededGroupMessageId = "";

async function snapshot(server: TestServer) {
  const { messages } = server.parley.store;
  const page = { limit: 200, skip: 0 };
  return JSON.stringify([
    await messages.history("alice", "bob", page),
    await messages.listForUser("fuzzer", page),
    await messages.listForUser("bob", page),
    await messages.conversations("alice", page),
    await messages.conversations("fuzzer", page),
    await messages.undelivered("bob", { limit: 200 }),
    await server.parley.store.blocks.blockedEitherWay("fuzzer"),
    await server.parley.store.reports.list({ limit: 200 }),
    await server.parley.store.groups.get(seededGroupId),
    await server.parley.store.groups.history(seededGroupId, page),
    await server.parley.store.groups.groupsOf("fuzzer"),
    await server.parley.store.groups.conversations("bob", page),
  ]);
}

function assertWellFormedError(body: Record<string, unknown>, where: string) {
  assert(
    typeof body.error === "string" && body.error.length > 0,
    `${where}: ${JSON.stringify(body)}`,
  );
  assert(
    typeof body.code === "string" && body.code in ERROR_CODES,
    `${where}: ${JSON.stringify(body)}`,
  );
  assert(body.code !== "INTERNAL_ERROR", `${where}: server error ${JSON.stringify(body)}`);
}

Deno.test(`fuzz: ${RUNS} hostile socket payloads and ${Math.ceil(RUNS / 4)} hostile requests (seed ${SEED})`, async () => {
  seededIds = [];
  await using server = await startTestServer({
    RATE_LIMITS: "on", // the limiter is in the path, but never the answer
    RATE_LIMIT_SEND: "1000000:1000000",
    RATE_LIMIT_TYPING: "1000000:1000000",
    RATE_LIMIT_HISTORY: "1000000:1000000",
    RATE_LIMIT_READ: "1000000:1000000",
    RATE_LIMIT_EDIT: "1000000:1000000",
    RATE_LIMIT_REACT: "1000000:1000000",
    RATE_LIMIT_BLOCK: "1000000:1000000",
    RATE_LIMIT_GROUP: "1000000:1000000",
    RATE_LIMIT_REST: "1000000:1000000",
    RATE_LIMIT_ANON_REST: "1000000:1000000",
    MAX_SOCKET_PAYLOAD_BYTES: "1048576", // big values reach validation instead of closing the socket
  });
  const alice = await server.connect("alice");
  for (const text of ["one", "two", "three"]) {
    const ack = await alice.timeout(3000).emitWithAck("sendMessage", { receiverId: "bob", text });
    assert(ack.ok);
    seededIds.push(ack.message._id);
  }
  const created = await alice.timeout(3000).emitWithAck("createGroup", {
    name: "Seeded",
    memberIds: ["bob"],
  });
  assert(created.ok);
  seededGroupId = created.group._id;
  const inGroup = await alice.timeout(3000).emitWithAck("sendMessage", {
    groupId: seededGroupId,
    text: "group one",
  });
  assert(inGroup.ok);
  seededGroupMessageId = inGroup.message._id;
  const before = await snapshot(server);
  const fuzzer = await server.connect("fuzzer");
  const r = prng(SEED);
  const codes: Record<string, number> = {};

  for (let i = 0; i < RUNS; i++) {
    const [event, args] = hostileEvent(r);
    const answer = await (fuzzer.timeout(5000) as unknown as {
      emitWithAck(event: string, ...args: unknown[]): Promise<Record<string, unknown>>;
    }).emitWithAck(event, ...args);
    if (answer.ok === true) {
      assert(
        event === "typing" || event === "setUserId" || event === "getChatHistory",
        `${event} accepted: ${JSON.stringify(args).slice(0, 300)}`,
      );
      continue;
    }
    assertEquals(answer.ok, false);
    assertWellFormedError(answer, `${event} ${i}`);
    codes[answer.code as string] = (codes[answer.code as string] ?? 0) + 1;
  }

  const token = await server.token("fuzzer");
  for (let i = 0; i < Math.ceil(RUNS / 4); i++) {
    const { method, path, body } = hostileRequest(r);
    const res = await fetch(`${server.url}${path}`, {
      method,
      body,
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    });
    assert(res.status < 500, `${method} ${path}: ${res.status}`);
    const json = await res.json();
    if (res.status >= 400) assertWellFormedError(json, `${method} ${path}`);
    else assert(Array.isArray(json), `${method} ${path}: ${JSON.stringify(json)}`);
  }

  assertEquals(await snapshot(server), before, "the store is unchanged");
  assert(fuzzer.connected, "the fuzzing socket is still served");
  const still = await alice.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: "still alive",
  });
  assert(still.ok, "the server still works");
  console.log(`fuzz answers by code: ${JSON.stringify(codes)}`);
});
