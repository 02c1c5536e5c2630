/**
 * Reactions over real sockets and REST: one emoji grapheme, one of each per
 * user, at most 20 distinct per message; `messageReaction` to both users, a
 * repeat changes and sends nothing.
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { collect, nextEvent, settle } from "./helpers/events.ts";
import { send } from "./helpers/messages.ts";
import { startTestServer } from "./helpers/server.ts";

Deno.test("addReaction and removeReaction change the message and tell both users; a repeat sends nothing", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const sent = await send(alice, "bob", "lunch?");
  assertEquals(sent.reactions, [], "empty when none");

  const aliceHears = collect(alice, "messageReaction");
  const bobHears = collect(bob, "messageReaction");
  const added = await bob.timeout(3000).emitWithAck("addReaction", {
    messageId: sent._id,
    emoji: "👍🏽",
  });
  assert(added.ok, JSON.stringify(added));
  assertEquals(added.message.reactions, [{ emoji: "👍🏽", userIds: ["bob"] }]);
  const byAlice = await alice.timeout(3000).emitWithAck("addReaction", {
    messageId: sent._id,
    emoji: "👍🏽",
  });
  assert(byAlice.ok);
  assertEquals(byAlice.message.reactions, [{ emoji: "👍🏽", userIds: ["bob", "alice"] }]);

  const repeat = await bob.timeout(3000).emitWithAck("addReaction", {
    messageId: sent._id,
    emoji: "👍🏽",
  });
  assert(repeat.ok);
  assertEquals(repeat.message.reactions, [{ emoji: "👍🏽", userIds: ["bob", "alice"] }]);

  const removed = await bob.timeout(3000).emitWithAck("removeReaction", {
    messageId: sent._id,
    emoji: "👍🏽",
  });
  assert(removed.ok);
  assertEquals(removed.message.reactions, [{ emoji: "👍🏽", userIds: ["alice"] }]);
  const removedAgain = await bob.timeout(3000).emitWithAck("removeReaction", {
    messageId: sent._id,
    emoji: "👍🏽",
  });
  assert(removedAgain.ok);

  await settle(alice);
  await settle(bob);
  const expected = [
    { messageId: sent._id, userId: "bob", emoji: "👍🏽", added: true },
    { messageId: sent._id, userId: "alice", emoji: "👍🏽", added: true },
    { messageId: sent._id, userId: "bob", emoji: "👍🏽", added: false },
  ];
  assertEquals(aliceHears.stop(), expected, "the repeats sent nothing");
  assertEquals(bobHears.stop(), expected);
  const history = await (await server.api("alice", "/api/chats/history/bob")).json();
  assertEquals(history[0].reactions, [{ emoji: "👍🏽", userIds: ["alice"] }]);
});

Deno.test("an emoji is one fully-qualified emoji of at most 16 bytes: flags, skin tones, ZWJ sequences", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const sent = await send(alice, "bob", "emoji");
  for (const emoji of ["👍", "👍🏿", "🇯🇵", "👩‍💻", "🏳️‍🌈", "❤️", "1️⃣"]) {
    const ack = await alice.timeout(3000).emitWithAck("addReaction", {
      messageId: sent._id,
      emoji,
    });
    assert(ack.ok, `${emoji}: ${JSON.stringify(ack)}`);
  }
  // Not emoji, two of them, text, or a family sequence over 16 bytes of UTF-8.
  for (const emoji of ["", "a", "👍👍", "❤", "hi", "👨‍👩‍👧‍👦", "🏴󠁧󠁢󠁥󠁮󠁧󠁿", 42, null]) {
    const ack = await alice.timeout(3000).emitWithAck("addReaction", {
      messageId: sent._id,
      emoji,
    });
    assertEquals([ack.ok, ack.code], [false, "VALIDATION_ERROR"], `${emoji}`);
  }
});

Deno.test("a 21st different emoji on a message is VALIDATION_ERROR; another user's one of the 20 is fine", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const sent = await send(alice, "bob", "so many feelings");
  const twenty = [..."😀😃😄😁😆😅😂🤣😊😇🙂🙃😉😌😍🥰😘😗😙😚"];
  assertEquals(twenty.length, 20);
  for (const emoji of twenty) {
    const ack = await alice.timeout(3000).emitWithAck("addReaction", {
      messageId: sent._id,
      emoji,
    });
    assert(ack.ok, JSON.stringify(ack));
  }
  const bobHears = collect(bob, "messageReaction");
  const extra = await bob.timeout(3000).emitWithAck("addReaction", {
    messageId: sent._id,
    emoji: "🤯",
  });
  assertEquals([extra.ok, extra.code], [false, "VALIDATION_ERROR"]);
  const same = await bob.timeout(3000).emitWithAck("addReaction", {
    messageId: sent._id,
    emoji: "😀",
  });
  assert(same.ok, JSON.stringify(same));
  assertEquals(same.message.reactions.length, 20);
  await settle(bob);
  assertEquals(bobHears.stop().map((r) => r.emoji), ["😀"], "the refused one sent nothing");
});

Deno.test("reactions: only the two participants, and never on a deleted message", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const carol = await server.connect("carol");
  const sent = await send(alice, "bob", "private");
  const byCarol = await carol.timeout(3000).emitWithAck("addReaction", {
    messageId: sent._id,
    emoji: "👀",
  });
  assertEquals([byCarol.ok, byCarol.code], [false, "FORBIDDEN"]);
  await server.api("alice", `/api/chats/${sent._id}`, { method: "DELETE" });
  const onDeleted = await alice.timeout(3000).emitWithAck("addReaction", {
    messageId: sent._id,
    emoji: "👀",
  });
  assertEquals([onDeleted.ok, onDeleted.code], [false, "NOT_FOUND"]);
});

Deno.test("PUT and DELETE /api/chats/:messageId/reactions/:emoji react as the events do", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const sent = await send(alice, "bob", "rest");
  const heard = nextEvent(alice, "messageReaction");
  const path = `/api/chats/${sent._id}/reactions/${encodeURIComponent("🇫🇷")}`;
  const put = await server.api("bob", path, { method: "PUT" });
  assertEquals(put.status, 200);
  assertEquals((await put.json()).reactions, [{ emoji: "🇫🇷", userIds: ["bob"] }]);
  assertEquals(await heard, { messageId: sent._id, userId: "bob", emoji: "🇫🇷", added: true });
  const del = await server.api("bob", path, { method: "DELETE" });
  assertEquals([del.status, (await del.json()).reactions], [200, []]);
  const bad = await server.api("bob", `/api/chats/${sent._id}/reactions/x`, { method: "PUT" });
  assertEquals([bad.status, (await bad.json()).code], [400, "VALIDATION_ERROR"]);
});

Deno.test("editMessage, reactions and blocks draw from their own rate limits (RATE_LIMIT_EDIT, _REACT, _BLOCK)", async () => {
  await using server = await startTestServer({
    RATE_LIMITS: "on",
    RATE_LIMIT_EDIT: "0.01:1",
    RATE_LIMIT_REACT: "0.01:2",
    RATE_LIMIT_BLOCK: "0.01:1",
  });
  const alice = await server.connect("alice");
  const sent = await send(alice, "bob", "limits");
  const edit = () =>
    alice.timeout(3000).emitWithAck("editMessage", { messageId: sent._id, text: "again" });
  assert((await edit()).ok);
  const refusedEdit = await edit();
  assertEquals([refusedEdit.ok, refusedEdit.code], [false, "RATE_LIMITED"]);
  assert(refusedEdit.retryAfterMs > 0);

  // addReaction and removeReaction share one bucket, apart from the edits'.
  const react = (event: "addReaction" | "removeReaction") =>
    alice.timeout(3000).emitWithAck(event, { messageId: sent._id, emoji: "👍" });
  assert((await react("addReaction")).ok);
  assert((await react("removeReaction")).ok);
  assertEquals((await react("addReaction")).code, "RATE_LIMITED");

  const block = (event: "blockUser" | "unblockUser") =>
    alice.timeout(3000).emitWithAck(event, { userId: "bob" });
  assert((await block("blockUser")).ok);
  assertEquals((await block("unblockUser")).code, "RATE_LIMITED");
  // The send bucket is untouched by all of this.
  assert(
    (await alice.timeout(3000).emitWithAck("sendMessage", { receiverId: "carol", text: "ok" })).ok,
  );
});
