/**
 * Replies: `sendMessage` with `replyTo` stores a snapshot of the quoted
 * message (first 200 characters, the file's name and type), kept through
 * later edits; a deleted quoted message shows as `{_id, deleted: true}`.
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { acking, send } from "./helpers/messages.ts";
import { startTestServer } from "./helpers/server.ts";
import { waitFor } from "./helpers/events.ts";

Deno.test("a reply carries the quoted message as it was when the reply was sent", async () => {
  await using server = await startTestServer({ EDIT_WINDOW_MS: "0" });
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const aliceGot = acking(alice);
  const long = "é".repeat(150) + "🙂".repeat(100);
  const quoted = await send(alice, "bob", long);
  const plain = await send(bob, "alice", "no reply");
  assertEquals(plain.replyTo, null, "null when not a reply");

  const reply = await bob.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "alice",
    text: "agreed",
    replyTo: quoted._id,
  });
  assert(reply.ok, JSON.stringify(reply));
  const snapshot = {
    _id: quoted._id,
    senderId: "alice",
    text: "é".repeat(150) + "🙂".repeat(50),
    file: null,
  };
  assertEquals(reply.message.replyTo, snapshot, "200 characters, never half a surrogate pair");
  await waitFor(() => aliceGot.some((m) => m._id === reply.message._id), "alice receives it");
  assertEquals(aliceGot.find((m) => m._id === reply.message._id)?.replyTo, snapshot);

  const edit = await alice.timeout(3000).emitWithAck("editMessage", {
    messageId: quoted._id,
    text: "changed my mind",
  });
  assert(edit.ok);
  let history = await (await server.api("alice", "/api/chats/history/bob")).json();
  assertEquals(history.at(-1).replyTo, snapshot, "kept as it was through the edit");

  await server.api("alice", `/api/chats/${quoted._id}`, { method: "DELETE" });
  history = await (await server.api("alice", "/api/chats/history/bob")).json();
  assertEquals(history.at(-1).replyTo, { _id: quoted._id, deleted: true });
});

Deno.test("a reply quotes a file by name and type only", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const withFile = await alice.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    file: { url: "https://cdn.example.com/cat.png", type: "image", name: "cat.png", size: 99 },
  });
  assert(withFile.ok, JSON.stringify(withFile));
  const reply = await bob.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "alice",
    text: "cute",
    replyTo: withFile.message._id,
  });
  assert(reply.ok, JSON.stringify(reply));
  assertEquals(reply.message.replyTo, {
    _id: withFile.message._id,
    senderId: "alice",
    text: null,
    file: { name: "cat.png", type: "image" },
  });
});

Deno.test("replyTo must name a message of the same conversation: else VALIDATION_ERROR, nothing stored", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const carol = await server.connect("carol");
  const elsewhere = await send(alice, "bob", "for bob");
  const wrong = await carol.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "alice",
    text: "sneaky quote",
    replyTo: elsewhere._id,
  });
  assertEquals([wrong.ok, wrong.code], [false, "VALIDATION_ERROR"]);
  const unknown = await alice.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: "to nothing",
    replyTo: "doesnotexist",
  });
  assertEquals([unknown.ok, unknown.code], [false, "VALIDATION_ERROR"]);
  const malformed = await alice.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: "to nothing",
    replyTo: { $ne: null },
  });
  assertEquals([malformed.ok, malformed.code], [false, "VALIDATION_ERROR"]);
  const history = await (await server.api("alice", "/api/chats/history/carol")).json();
  assertEquals(history, []);
  const withBob = await (await server.api("alice", "/api/chats/history/bob")).json();
  assertEquals(withBob.length, 1);
});
