/**
 * Edits over real sockets and REST: the sender only, within EDIT_WINDOW_MS;
 * `messageEdited` to both users; the stored text, `editedAt` and the
 * conversation row follow.
 */
import type { ChatMessage } from "../src/protocol/types.ts";
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { nextEvent } from "./helpers/events.ts";
import { send } from "./helpers/messages.ts";
import { delay, startTestServer } from "./helpers/server.ts";

Deno.test("editMessage changes the text, sets editedAt and tells both users' sockets", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const aliceOtherTab = await server.connect("alice");
  const bob = await server.connect("bob");
  const sent = await send(alice, "bob", "helo");
  assertEquals(sent.editedAt, null, "null until edited");

  const bobHears = nextEvent(bob, "messageEdited");
  const otherTabHears = nextEvent(aliceOtherTab, "messageEdited");
  const ack = await alice.timeout(3000).emitWithAck("editMessage", {
    messageId: sent._id,
    text: "  hello  ",
  });
  assert(ack.ok, JSON.stringify(ack));
  const edited: ChatMessage = ack.message;
  assertEquals(edited.text, "hello", "trimmed like a sent text");
  assert(edited.editedAt !== null && edited.editedAt >= sent.createdAt);
  const expected = { messageId: sent._id, text: "hello", editedAt: edited.editedAt };
  assertEquals(await bobHears, expected);
  assertEquals(await otherTabHears, expected);

  const history = await (await server.api("bob", "/api/chats/history/alice")).json();
  assertEquals([history[0].text, history[0].editedAt], ["hello", edited.editedAt]);
  const rows = await (await server.api("bob", "/api/chats/conversations")).json();
  assertEquals(rows[0].lastMessage.text, "hello", "the conversation row shows the new text");
});

Deno.test("PATCH /api/chats/:messageId edits as the event does", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const sent = await send(alice, "bob", "first");
  const bobHears = nextEvent(bob, "messageEdited");
  const res = await server.api("alice", `/api/chats/${sent._id}`, {
    method: "PATCH",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text: "second" }),
  });
  assertEquals(res.status, 200);
  const body = await res.json();
  assertEquals(body.text, "second");
  assertEquals((await bobHears).text, "second");

  const empty = await server.api("alice", `/api/chats/${sent._id}`, {
    method: "PATCH",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ text: "   " }),
  });
  assertEquals([empty.status, (await empty.json()).code], [400, "VALIDATION_ERROR"]);
});

Deno.test("editMessage refuses someone else's message (FORBIDDEN) and a deleted one (NOT_FOUND)", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const sent = await send(alice, "bob", "mine");

  const byBob = await bob.timeout(3000).emitWithAck("editMessage", {
    messageId: sent._id,
    text: "hijacked",
  });
  assertEquals([byBob.ok, byBob.code], [false, "FORBIDDEN"]);

  const deleted = await server.api("alice", `/api/chats/${sent._id}`, { method: "DELETE" });
  assertEquals(deleted.status, 200);
  const afterDelete = await alice.timeout(3000).emitWithAck("editMessage", {
    messageId: sent._id,
    text: "too late",
  });
  assertEquals([afterDelete.ok, afterDelete.code], [false, "NOT_FOUND"]);

  const unknown = await alice.timeout(3000).emitWithAck("editMessage", {
    messageId: "nope",
    text: "x",
  });
  assertEquals([unknown.ok, unknown.code], [false, "NOT_FOUND"]);
  const malformed = await alice.timeout(3000).emitWithAck("editMessage", { messageId: sent._id });
  assertEquals([malformed.ok, malformed.code], [false, "VALIDATION_ERROR"]);
});

Deno.test("after EDIT_WINDOW_MS an edit is FORBIDDEN, saying the edit window has passed", async () => {
  await using server = await startTestServer({ EDIT_WINDOW_MS: "300" });
  const alice = await server.connect("alice");
  const early = await send(alice, "bob", "quick");
  const inTime = await alice.timeout(3000).emitWithAck("editMessage", {
    messageId: early._id,
    text: "quick edit",
  });
  assert(inTime.ok, JSON.stringify(inTime));
  await delay(400);
  const late = await alice.timeout(3000).emitWithAck("editMessage", {
    messageId: early._id,
    text: "slow edit",
  });
  assertEquals([late.ok, late.code], [false, "FORBIDDEN"]);
  assertMatch(late.error, /edit window has passed/);
  const history = await (await server.api("alice", "/api/chats/history/bob")).json();
  assertEquals(history[0].text, "quick edit", "the refused edit changed nothing");
});

Deno.test("EDIT_WINDOW_MS=0: no limit (not a window of 0 ms)", async () => {
  await using server = await startTestServer({ EDIT_WINDOW_MS: "0" });
  const alice = await server.connect("alice");
  const sent = await send(alice, "bob", "old");
  // Older than the 300 ms window refused above, and than any window of 0 ms.
  await delay(400);
  const ack = await alice.timeout(3000).emitWithAck("editMessage", {
    messageId: sent._id,
    text: "still editable",
  });
  assert(ack.ok, JSON.stringify(ack));
});
