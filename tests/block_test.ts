/**
 * Blocks over real sockets and REST: while A blocks B, nothing new passes
 * between them either way (messages, typing: FORBIDDEN, nothing stored or
 * relayed), neither sees the other's presence, and history stays readable.
 */
import { CANNOT_MESSAGE } from "../src/chat/block_service.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { collect, nextEvent, settle } from "./helpers/events.ts";
import { acking, send } from "./helpers/messages.ts";
import { delay, disconnectAll, startTestServer } from "./helpers/server.ts";

Deno.test("while A blocks B, messages and typing either way are FORBIDDEN and nothing is stored or relayed", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const aliceGot = acking(alice);
  const bobGot = acking(bob);
  const before = await send(bob, "alice", "hi alice");

  const blocked = await alice.timeout(3000).emitWithAck("blockUser", { userId: "bob" });
  assertEquals(blocked, { ok: true, userId: "bob", blocked: true });
  const aliceTyping = collect(alice, "userTyping");
  const bobTyping = collect(bob, "userTyping");

  for (const [from, to] of [[bob, "alice"], [alice, "bob"]] as const) {
    const sent = await from.timeout(3000).emitWithAck("sendMessage", { receiverId: to, text: "x" });
    assertEquals([sent.ok, sent.code, sent.error], [false, "FORBIDDEN", CANNOT_MESSAGE]);
    const typing = await from.timeout(3000).emitWithAck("typing", {
      receiverId: to,
      isTyping: true,
    });
    assertEquals([typing.ok, typing.code, typing.error], [false, "FORBIDDEN", CANNOT_MESSAGE]);
  }
  await settle(alice);
  await settle(bob);
  assertEquals(aliceTyping.stop(), []);
  assertEquals(bobTyping.stop(), []);
  assertEquals(aliceGot.map((m) => m._id), [before._id]);
  assertEquals(bobGot, []);

  // History stays readable to both, and holds nothing new.
  for (const [user, partner] of [["alice", "bob"], ["bob", "alice"]] as const) {
    const history = await (await server.api(user, `/api/chats/history/${partner}`)).json();
    assertEquals(history.map((m: { _id: string }) => m._id), [before._id]);
  }

  // Unblocked: both ways again.
  const unblocked = await alice.timeout(3000).emitWithAck("unblockUser", { userId: "bob" });
  assertEquals(unblocked, { ok: true, userId: "bob", blocked: false });
  await send(bob, "alice", "friends again?");
  await send(alice, "bob", "yes");
});

Deno.test("a block of either user stops both ways, and lasts until its blocker lifts it", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  await alice.timeout(3000).emitWithAck("blockUser", { userId: "bob" });
  await bob.timeout(3000).emitWithAck("blockUser", { userId: "alice" });
  await alice.timeout(3000).emitWithAck("unblockUser", { userId: "bob" });
  const stillBlocked = await alice.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: "hello?",
  });
  assertEquals([stillBlocked.ok, stillBlocked.code], [false, "FORBIDDEN"], "bob's block stands");
  // Bob's unblock from alice's side changes nothing: only a blocker lifts a block.
  const notHers = await alice.timeout(3000).emitWithAck("unblockUser", { userId: "bob" });
  assert(notHers.ok);
  await bob.timeout(3000).emitWithAck("unblockUser", { userId: "alice" });
  await send(alice, "bob", "now");
});

Deno.test("REST: PUT and DELETE /api/users/:userId/block, GET /api/users/blocked; blocking yourself is VALIDATION_ERROR", async () => {
  await using server = await startTestServer();
  const put = (user: string, other: string) =>
    server.api(user, `/api/users/${encodeURIComponent(other)}/block`, { method: "PUT" });
  const first = await put("alice", "bob");
  assertEquals([first.status, await first.json()], [200, { userId: "bob", blocked: true }]);
  const again = await put("alice", "bob");
  assertEquals(again.status, 200);
  await again.body?.cancel();
  await (await put("alice", "carol")).body?.cancel();
  const list = await (await server.api("alice", "/api/users/blocked")).json();
  assertEquals(list.map((b: { userId: string }) => b.userId), ["carol", "bob"]);
  assert(list.every((b: { blockedAt: string }) => !Number.isNaN(Date.parse(b.blockedAt))));

  const self = await put("alice", "alice");
  assertEquals([self.status, (await self.json()).code], [400, "VALIDATION_ERROR"]);
  const socket = await server.connect("alice");
  const selfSocket = await socket.timeout(3000).emitWithAck("blockUser", { userId: "alice" });
  assertEquals([selfSocket.ok, selfSocket.code], [false, "VALIDATION_ERROR"]);

  const lifted = await server.api("alice", "/api/users/bob/block", { method: "DELETE" });
  assertEquals([lifted.status, await lifted.json()], [200, { userId: "bob", blocked: false }]);
  const after = await (await server.api("alice", "/api/users/blocked")).json();
  assertEquals(after.map((b: { userId: string }) => b.userId), ["carol"]);
  const bobSees = await (await server.api("bob", "/api/users/blocked")).json();
  assertEquals(bobSees, [], "the list is the caller's own blocks");
});

Deno.test("while a block stands neither sees the other's presence; conversation rows show each other offline", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  let bob = await server.connect("bob");
  await send(bob, "alice", "hello");
  await settle(alice); // bob's own "online" (announced as he connected) is out of the way

  // The block itself tells each that the other went offline.
  const aliceHearsOffline = nextEvent(
    alice,
    "userOnline",
    (p) => p.userId === "bob" && !p.isOnline,
  );
  const bobHearsOffline = nextEvent(bob, "userOnline", (p) => p.userId === "alice" && !p.isOnline);
  await alice.timeout(3000).emitWithAck("blockUser", { userId: "bob" });
  await aliceHearsOffline;
  await bobHearsOffline;

  for (const [user, partner] of [["alice", "bob"], ["bob", "alice"]] as const) {
    const rows = await (await server.api(user, "/api/chats/conversations")).json();
    assertEquals(rows[0].user._id, partner);
    assertEquals([rows[0].user.isOnline, rows[0].user.lastSeen], [false, null], user);
  }

  // Bob leaves and comes back: alice hears neither.
  const aliceHears = collect(alice, "userOnline");
  await disconnectAll([bob]);
  await delay(150); // past PRESENCE_GRACE_MS (50 in tests): the offline was announced by now
  bob = await server.connect("bob");
  await delay(100);
  await settle(alice);
  assertEquals(aliceHears.stop(), []);

  // Unblocked: each is told the other's presence as it is, and rows show it again.
  const aliceHearsOnline = nextEvent(alice, "userOnline", (p) => p.userId === "bob");
  await alice.timeout(3000).emitWithAck("unblockUser", { userId: "bob" });
  assertEquals((await aliceHearsOnline).isOnline, true);
  const rows = await (await server.api("alice", "/api/chats/conversations")).json();
  assertEquals(rows[0].user.isOnline, true);
});

Deno.test("PRESENCE_BROADCAST=all skips users blocked either way too", async () => {
  await using server = await startTestServer({ PRESENCE_BROADCAST: "all" });
  const alice = await server.connect("alice");
  const carol = await server.connect("carol");
  const blocker = await server.connect("bob");
  await blocker.timeout(3000).emitWithAck("blockUser", { userId: "alice" });
  await disconnectAll([blocker]);
  await delay(150); // past PRESENCE_GRACE_MS: bob's return is announced
  const aliceHears = collect(alice, "userOnline");
  const carolHears = nextEvent(carol, "userOnline", (p) => p.userId === "bob" && p.isOnline);
  await server.connect("bob");
  await carolHears;
  await settle(alice);
  assertEquals(aliceHears.stop().filter((p) => p.userId === "bob"), []);
});
