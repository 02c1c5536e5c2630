import { assert, assertEquals, assertRejects } from "./helpers/assert.ts";
import { collect, nextEvent, settle } from "./helpers/events.ts";
import { clientList, connectClient, signToken, startTestServer } from "./helpers/server.ts";

const LIMITS = { RATE_LIMITS: "on", RATE_LIMIT_SEND: "10:20" };

Deno.test("rate limits: sendMessage over the bucket is RATE_LIMITED with retryAfterMs, and nothing over it is stored or relayed", async () => {
  await using server = await startTestServer(LIMITS);
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const bobGot = collect(bob, "receiveMessage");
  const acks = await Promise.all(
    Array.from(
      { length: 30 },
      (_, i) =>
        alice.timeout(3000).emitWithAck("sendMessage", { receiverId: "bob", text: `f${i}` }),
    ),
  );
  const ok = acks.filter((a) => a.ok);
  const limited = acks.filter((a) => !a.ok);
  assert(
    ok.length >= 20 && ok.length <= 21,
    `burst of 20 (+1 refilled) accepted, got ${ok.length}`,
  );
  for (const refusal of limited) {
    assert(!refusal.ok);
    assertEquals(refusal.code, "RATE_LIMITED");
    assert(
      typeof refusal.retryAfterMs === "number" && refusal.retryAfterMs > 0 &&
        refusal.retryAfterMs <= 100,
    );
  }
  await settle(bob, 200);
  assertEquals(bobGot.stop().length, ok.length);
  const stored = await server.parley.store.messages.history("alice", "bob", {
    limit: 200,
    skip: 0,
  });
  assertEquals(stored.length, ok.length);

  // The bucket refills: after the advised wait, sending works again.
  await new Promise((resolve) => setTimeout(resolve, 150));
  const later = await alice.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: "later",
  });
  assert(later.ok);
});

Deno.test("rate limits: a flooding client does not slow another user's round trip", async () => {
  await using server = await startTestServer(LIMITS);
  const flooder = await server.connect("mallory");
  const carol = await server.connect("carol");
  const dave = await server.connect("dave");
  const roundTrip = async () => {
    const started = performance.now();
    const received = nextEvent(dave, "receiveMessage");
    const ack = await carol.timeout(3000).emitWithAck("sendMessage", {
      receiverId: "dave",
      text: "rt",
    });
    assert(ack.ok);
    await received;
    return performance.now() - started;
  };
  const quiet: number[] = [];
  for (let i = 0; i < 5; i++) quiet.push(await roundTrip());

  let flooding = true;
  let refused = 0;
  let accepted = 0;
  const floodStarted = performance.now();
  const flood = (async () => {
    while (flooding) {
      const batch = await Promise.all(
        Array.from({ length: 50 }, () =>
          flooder.timeout(3000).emitWithAck("sendMessage", {
            receiverId: "victim",
            text: "spam",
          })),
      );
      refused += batch.filter((a) => !a.ok).length;
      accepted += batch.filter((a) => a.ok).length;
    }
  })();
  const loaded: number[] = [];
  for (let i = 0; i < 5; i++) {
    loaded.push(await roundTrip());
    await new Promise((resolve) => setTimeout(resolve, 110)); // stay within carol's own bucket
  }
  flooding = false;
  await flood;
  const floodSeconds = (performance.now() - floodStarted) / 1000;
  const median = (xs: number[]) => xs.toSorted((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    `round trip while idle ${median(quiet).toFixed(1)} ms, while another user floods ` +
      `${median(loaded).toFixed(1)} ms (${refused} flood messages refused)`,
  );
  assert(refused > 0, "the flood was limited");
  // Generous: a flood that slowed others would push this to hundreds of ms.
  assert(median(loaded) < Math.max(50, median(quiet) * 5), "other users stay fast");
  const stored = await server.parley.store.messages.history("mallory", "victim", {
    limit: 200,
    skip: 0,
  });
  assertEquals(stored.length, accepted, "only what was accepted was stored");
  assert(
    accepted <= 20 + Math.ceil(10 * floodSeconds) + 1,
    `at most burst + refill: ${accepted}`,
  );
});

Deno.test("rate limits: REST answers 429 with Retry-After per user; anonymous callers per IP; health is exempt", async () => {
  await using server = await startTestServer({
    RATE_LIMITS: "on",
    RATE_LIMIT_REST: "1:3",
    RATE_LIMIT_ANON_REST: "1:2",
  });
  const statuses: number[] = [];
  for (let i = 0; i < 5; i++) {
    const res = await server.api("alice", "/api/chats/my-chats");
    statuses.push(res.status);
    const body = await res.json();
    if (res.status === 429) {
      assertEquals(body.code, "RATE_LIMITED");
      assert(Number(res.headers.get("retry-after")) >= 1);
    }
  }
  assertEquals(statuses, [200, 200, 200, 429, 429]);
  assertEquals(
    (await server.api("bob", "/api/chats/my-chats")).status,
    200,
    "bob has his own bucket",
  );

  const anon: number[] = [];
  for (let i = 0; i < 4; i++) {
    const res = await fetch(`${server.url}/api/chats/my-chats`);
    anon.push(res.status);
    await res.body?.cancel();
  }
  assertEquals(anon, [401, 401, 429, 429]);
  for (let i = 0; i < 10; i++) {
    const res = await fetch(`${server.url}/healthz`);
    assertEquals(res.status, 200);
    await res.body?.cancel();
  }
});

Deno.test("rate limits: connection attempts per IP, and RATE_LIMITS=off lifts every limit", async () => {
  await using server = await startTestServer({ RATE_LIMITS: "on", RATE_LIMIT_CONNECT: "1:3" });
  await using open = clientList();
  for (let i = 0; i < 3; i++) {
    open.push(await connectClient(server.url, { token: await signToken(`u${i}`) }));
  }
  await assertRejects(
    () => connectClient(server.url, { token: "whatever" }),
    (err) => {
      assertEquals((err as Error).message, "rate limited");
      assertEquals((err as Error & { data?: { code?: string } }).data?.code, "RATE_LIMITED");
    },
  );
  await using free = await startTestServer({ RATE_LIMITS: "off", RATE_LIMIT_SEND: "1:1" });
  const alice = await free.connect("alice");
  const acks = await Promise.all(
    Array.from(
      { length: 50 },
      () => alice.timeout(3000).emitWithAck("sendMessage", { receiverId: "bob", text: "x" }),
    ),
  );
  assert(acks.every((a) => a.ok));
});

Deno.test("size limits: an oversize socket frame closes that client only; an oversize REST body is 413", async () => {
  await using server = await startTestServer({
    MAX_SOCKET_PAYLOAD_BYTES: "2048",
    MAX_BODY_BYTES: "2048",
  });
  const big = await server.connect("alice");
  const other = await server.connect("bob");
  const closed = new Promise<string>((resolve) =>
    big.once("disconnect", (reason) => resolve(reason))
  );
  big.emit("sendMessage", { receiverId: "bob", text: "x".repeat(4000) });
  assertEquals(await closed, "transport close");
  const ack = await other.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "alice",
    text: "still up",
  });
  assert(ack.ok, "the server and other clients carry on");
  assertEquals(
    await server.parley.store.messages.listForUser("alice", { limit: 10, skip: 0 }).then((m) =>
      m.length
    ),
    1,
  );

  const res = await server.api("bob", "/api/chats/my-chats", {
    method: "DELETE",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ pad: "x".repeat(4000) }),
  });
  assertEquals(res.status, 413);
  assertEquals((await res.json()).code, "PAYLOAD_TOO_LARGE");
});

Deno.test("the default socket frame limit is 64 KiB, not Socket.IO's 1 MB", async () => {
  await using server = await startTestServer();
  const client = await server.connect("alice");
  const closed = new Promise<string>((resolve) =>
    client.once("disconnect", (reason) => resolve(reason))
  );
  client.emit("typing", { receiverId: "bob", isTyping: true, pad: "x".repeat(70_000) } as never);
  assertEquals(await closed, "transport close");
});
