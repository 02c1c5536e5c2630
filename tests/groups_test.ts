/**
 * Group conversations over real sockets and REST (issue 19): membership and
 * its `groupUpdated`, messages to every other member, history, read pointers,
 * catch-up, the mixed conversation list, typing, presence, mutes and access.
 * CI runs this file with TEST_STORE=mongo too.
 */
import type { ChatMessage } from "../src/protocol/types.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { collect, nextEvent, settle, waitFor } from "./helpers/events.ts";
import { createGroup, sendToGroup } from "./helpers/groups.ts";
import { acking, send } from "./helpers/messages.ts";
import {
  type ChatClient,
  clientList,
  connectClient,
  delay,
  startTestServer,
} from "./helpers/server.ts";

const ISO = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

/** The refusal code of an acked event (undefined when it succeeded). */
async function refusal(client: ChatClient, event: string, payload: unknown) {
  // deno-lint-ignore no-explicit-any
  const ack = await (client.timeout(3000) as any).emitWithAck(event, payload);
  return ack.ok ? undefined : ack.code;
}

Deno.test("createGroup: the creator owns it and is a member; every member hears groupUpdated (created)", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const bobHears = nextEvent(bob, "groupUpdated");
  const aliceEcho = nextEvent(alice, "groupUpdated");

  const group = await createGroup(alice, "  Lunch crew  ", ["bob", "carol", "bob"]);
  assertEquals(group.name, "Lunch crew", "trimmed");
  assertEquals(group.ownerId, "alice");
  assertEquals(group.memberIds, ["alice", "bob", "carol"], "creator first, repeats dropped");
  assert(ISO.test(group.createdAt) && group.updatedAt === group.createdAt);
  assertEquals(await bobHears, {
    group,
    change: { type: "created", userIds: ["alice", "bob", "carol"] },
  });
  assertEquals((await aliceEcho).group, group);

  const res = await server.api("carol", `/api/groups/${group._id}`);
  assertEquals([res.status, await res.json()], [200, group]);
});

Deno.test("createGroup refuses a blank or 101-character name, no other member, too many members", async () => {
  await using server = await startTestServer({ MAX_GROUP_MEMBERS: "3" });
  const alice = await server.connect("alice");
  const refused = (payload: unknown) => refusal(alice, "createGroup", payload);
  assertEquals(await refused({ name: "   ", memberIds: ["bob"] }), "VALIDATION_ERROR");
  assertEquals(await refused({ name: "x".repeat(101), memberIds: ["bob"] }), "VALIDATION_ERROR");
  assertEquals(await refused({ name: "me", memberIds: [] }), "VALIDATION_ERROR");
  assertEquals(await refused({ name: "me", memberIds: ["alice"] }), "VALIDATION_ERROR");
  assertEquals(await refused({ name: "4", memberIds: ["b", "c", "d"] }), "VALIDATION_ERROR");
  assertEquals(await refused({ name: "ids", memberIds: "bob" }), "VALIDATION_ERROR");
  // The creator counts: alice and two others is three, the limit.
  assertEquals(await refused({ name: "x".repeat(100), memberIds: ["b", "c", "alice"] }), undefined);
  const group = await createGroup(alice, "three", ["b", "c"]);
  assertEquals(
    await refusal(alice, "addGroupMembers", { groupId: group._id, userIds: ["d"] }),
    "VALIDATION_ERROR",
    "a fourth member is over MAX_GROUP_MEMBERS",
  );
});

Deno.test("members: the owner adds and removes, others are FORBIDDEN; every member old and new hears it", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const dave = await server.connect("dave");
  const group = await createGroup(alice, "Team", ["bob"]);
  const groupId = group._id;

  assertEquals(
    await refusal(bob, "addGroupMembers", { groupId, userIds: ["dave"] }),
    "FORBIDDEN",
    "only the owner adds",
  );
  assertEquals(await refusal(dave, "renameGroup", { groupId, name: "mine" }), "FORBIDDEN");
  assertEquals(
    await refusal(alice, "addGroupMembers", { groupId: "0".repeat(24), userIds: ["dave"] }),
    "NOT_FOUND",
  );

  const bobHears = collect(bob, "groupUpdated");
  const daveHears = collect(dave, "groupUpdated");
  const added = await alice.timeout(3000).emitWithAck("addGroupMembers", {
    groupId,
    userIds: ["dave", "bob"],
  });
  assert(added.ok, JSON.stringify(added));
  assertEquals(added.group.memberIds, ["alice", "bob", "dave"]);
  await waitFor(() => daveHears.items.length === 1 && bobHears.items.length === 1, "both told");
  assertEquals(daveHears.items[0]!.change, { type: "membersAdded", userIds: ["dave"] });

  // Any member renames.
  const renamed = await dave.timeout(3000).emitWithAck("renameGroup", { groupId, name: "Crew" });
  assert(renamed.ok);
  assertEquals(renamed.group.name, "Crew");
  await waitFor(() => bobHears.items.length === 2, "the rename told");
  assertEquals(bobHears.items[1]!.change, { type: "renamed" });

  assertEquals(
    await refusal(bob, "removeGroupMember", { groupId, userId: "dave" }),
    "FORBIDDEN",
    "only the owner removes",
  );
  assertEquals(
    await refusal(alice, "removeGroupMember", { groupId, userId: "zed" }),
    "NOT_FOUND",
  );
  const removed = await alice.timeout(3000).emitWithAck("removeGroupMember", {
    groupId,
    userId: "dave",
  });
  assert(removed.ok);
  assertEquals(removed.group.memberIds, ["alice", "bob"]);
  await waitFor(() => daveHears.items.length === 3, "the removed member told");
  assertEquals(daveHears.items[2], {
    group: removed.group,
    change: { type: "memberRemoved", userIds: ["dave"] },
  });
  bobHears.stop();
  daveHears.stop();
});

Deno.test("a removed member keeps no access: no messages, history, group, reads, or sending", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const group = await createGroup(alice, "Team", ["bob", "carol"]);
  const before = await sendToGroup(alice, group._id, "before");
  await alice.timeout(3000).emitWithAck("removeGroupMember", { groupId: group._id, userId: "bob" });

  const bobGets = collect(bob, "receiveMessage");
  await sendToGroup(alice, group._id, "after");
  assertEquals(
    await refusal(bob, "sendMessage", { groupId: group._id, text: "still here?" }),
    "FORBIDDEN",
  );
  assertEquals(await refusal(bob, "getChatHistory", { groupId: group._id }), "FORBIDDEN");
  assertEquals(await refusal(bob, "typing", { groupId: group._id, isTyping: true }), "FORBIDDEN");
  assertEquals(
    await refusal(bob, "markGroupRead", { groupId: group._id, messageId: before._id }),
    "FORBIDDEN",
  );
  for (const path of ["", "/history", `/messages/${before._id}/reads`]) {
    const res = await server.api("bob", `/api/groups/${group._id}${path}`);
    assertEquals(res.status, 403, path);
    assertEquals((await res.json()).code, "FORBIDDEN");
  }
  const rows = await (await server.api("bob", "/api/chats/conversations")).json();
  assertEquals(rows, [], "the group left bob's list");
  await settle(bob);
  assertEquals(bobGets.stop(), []);
});

Deno.test("leaveGroup: an owner who leaves hands ownership to the member who joined earliest", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const carol = await server.connect("carol");
  const group = await createGroup(alice, "Team", ["carol", "bob"]);
  const carolHears = nextEvent(carol, "groupUpdated", (u) => u.change.type === "left");
  const aliceHears = nextEvent(alice, "groupUpdated", (u) => u.change.type === "left");
  const left = await alice.timeout(3000).emitWithAck("leaveGroup", { groupId: group._id });
  assert(left.ok, JSON.stringify(left));
  assertEquals(left.group.ownerId, "carol", "first of those who joined together, in memberIds");
  assertEquals(left.group.memberIds, ["carol", "bob"]);
  assertEquals((await carolHears).change, { type: "left", userIds: ["alice"] });
  assertEquals((await aliceHears).group.ownerId, "carol", "the one who left hears it too");
  assertEquals(await refusal(alice, "leaveGroup", { groupId: group._id }), "FORBIDDEN");
  // The new owner may now do what only the owner may.
  const added = await carol.timeout(3000).emitWithAck("addGroupMembers", {
    groupId: group._id,
    userIds: ["dave"],
  });
  assert(added.ok);
});

Deno.test("sendMessage to a group: stored once, receiveMessage to every other member, messageSent to the sender's other sockets", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const aliceTab = await server.connect("alice");
  const bob = await server.connect("bob");
  const carol = await server.connect("carol");
  const group = await createGroup(alice, "Team", ["bob", "carol"]);
  const bobGets = nextEvent(bob, "receiveMessage");
  const carolGets = nextEvent(carol, "receiveMessage");
  const tabSees = nextEvent(aliceTab, "messageSent");
  const aliceGets = collect(alice, "receiveMessage");
  const aliceEcho = collect(alice, "messageSent");

  const message = await sendToGroup(alice, group._id, "  hi all  ");
  assertEquals(message.groupId, group._id);
  assertEquals(message.receiverId, null);
  assertEquals(message.senderId, "alice");
  assertEquals(message.text, "hi all");
  assertEquals(await bobGets, message);
  assertEquals(await carolGets, message);
  assertEquals(await tabSees, message);
  assertEquals(await server.parley.store.messages.get(message._id), message);
  await settle(alice);
  assertEquals(aliceGets.stop(), [], "the sender is not a receiver");
  assertEquals(aliceEcho.stop(), [], "the ack is the sending socket's confirmation");

  // 1:1 messages keep their shape, with groupId null.
  const direct = await send(alice, "bob", "just you");
  assertEquals([direct.receiverId, direct.groupId], ["bob", null]);
});

Deno.test("sendMessage names exactly one of receiverId and groupId, and only members send to a group", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const mallory = await server.connect("mallory");
  const group = await createGroup(alice, "Team", ["bob"]);
  const refused = (client: ChatClient, payload: unknown) => refusal(client, "sendMessage", payload);
  assertEquals(
    await refused(alice, { receiverId: "bob", groupId: group._id, text: "both" }),
    "VALIDATION_ERROR",
  );
  assertEquals(await refused(alice, { text: "neither" }), "VALIDATION_ERROR");
  assertEquals(await refused(alice, { groupId: "not-an-id!", text: "x" }), "VALIDATION_ERROR");
  assertEquals(await refused(mallory, { groupId: group._id, text: "let me in" }), "FORBIDDEN");
  assertEquals(await refused(alice, { groupId: "0".repeat(24), text: "x" }), "NOT_FOUND");
  const history = await (await server.api("alice", `/api/groups/${group._id}/history`)).json();
  assertEquals(history, [], "nothing stored");
});

Deno.test("group sends are idempotent by clientMessageId: a resend answers the original and delivers nothing", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const group = await createGroup(alice, "Team", ["bob"]);
  const bobGets = acking(bob);
  const first = await sendToGroup(alice, group._id, "once", { clientMessageId: "c-1" });
  const again = await alice.timeout(3000).emitWithAck("sendMessage", {
    groupId: group._id,
    text: "once",
    clientMessageId: "c-1",
  });
  assert(again.ok);
  assertEquals([again.message, again.duplicate], [first, true]);
  await settle(bob);
  assertEquals(bobGets.map((m) => m._id), [first._id]);
});

Deno.test("replies, edits, reactions and deletes in a group reach every member", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const carol = await server.connect("carol");
  const outsider = await server.connect("mallory");
  const group = await createGroup(alice, "Team", ["bob", "carol"]);
  const original = await sendToGroup(alice, group._id, "lunch at noon?");
  const direct = await send(alice, "bob", "1:1");

  const reply = await sendToGroup(bob, group._id, "yes", { replyTo: original._id });
  assertEquals(reply.replyTo, {
    _id: original._id,
    senderId: "alice",
    text: "lunch at noon?",
    file: null,
  });
  assertEquals(
    await refusal(bob, "sendMessage", { groupId: group._id, text: "x", replyTo: direct._id }),
    "VALIDATION_ERROR",
    "a reply quotes a message of the same group",
  );
  assertEquals(
    await refusal(bob, "sendMessage", { receiverId: "alice", text: "x", replyTo: original._id }),
    "VALIDATION_ERROR",
    "a 1:1 reply cannot quote a group message",
  );

  const carolEdit = nextEvent(carol, "messageEdited");
  const edited = await alice.timeout(3000).emitWithAck("editMessage", {
    messageId: original._id,
    text: "lunch at one?",
  });
  assert(edited.ok, JSON.stringify(edited));
  assertEquals((await carolEdit).text, "lunch at one?");
  assertEquals(
    await refusal(bob, "editMessage", { messageId: original._id, text: "mine now" }),
    "FORBIDDEN",
  );

  const aliceReaction = nextEvent(alice, "messageReaction");
  const reacted = await carol.timeout(3000).emitWithAck("addReaction", {
    messageId: original._id,
    emoji: "👍",
  });
  assert(reacted.ok, JSON.stringify(reacted));
  assertEquals(reacted.message.reactions, [{ emoji: "👍", userIds: ["carol"] }]);
  assertEquals((await aliceReaction).userId, "carol");
  assertEquals(
    await refusal(outsider, "addReaction", { messageId: original._id, emoji: "👎" }),
    "FORBIDDEN",
  );

  // messageRead and reports are 1:1 only.
  assertEquals(
    await refusal(bob, "messageRead", { messageId: original._id }),
    "VALIDATION_ERROR",
  );
  const report = await server.api("bob", `/api/chats/${original._id}/report`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ reason: "spam" }),
  });
  assertEquals([report.status, (await report.json()).code], [403, "FORBIDDEN"]);

  const bobDeleted = nextEvent(bob, "messageDeleted");
  const carolDeleted = nextEvent(carol, "messageDeleted");
  const forbidden = await server.api("bob", `/api/chats/${original._id}`, { method: "DELETE" });
  assertEquals(forbidden.status, 403, "only the sender deletes for everyone");
  await forbidden.body?.cancel();
  const deleted = await server.api("alice", `/api/chats/${original._id}`, { method: "DELETE" });
  assertEquals(deleted.status, 200);
  await deleted.body?.cancel();
  assertEquals(await bobDeleted, { messageId: original._id });
  assertEquals(await carolDeleted, { messageId: original._id });
  const history: ChatMessage[] =
    await (await server.api("carol", `/api/groups/${group._id}/history`)).json();
  assertEquals(history.map((m) => m.text), ["yes"]);
  assertEquals(history[0]!.replyTo, { _id: original._id, deleted: true });
});

Deno.test("group history pages like 1:1 history, over the socket and REST, for members", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const group = await createGroup(alice, "Team", ["bob"]);
  const sent: ChatMessage[] = [];
  for (let i = 1; i <= 5; i++) sent.push(await sendToGroup(alice, group._id, `m${i}`));

  const page = await alice.timeout(3000).emitWithAck("getChatHistory", {
    groupId: group._id,
    limit: 2,
  });
  assert(page.ok);
  assertEquals(page.messages.map((m: ChatMessage) => m.text), ["m4", "m5"], "newest, oldest first");
  const skipped = await alice.timeout(3000).emitWithAck("getChatHistory", {
    groupId: group._id,
    limit: 2,
    skip: 1,
  });
  assertEquals(skipped.messages.map((m: ChatMessage) => m.text), ["m3", "m4"]);
  const older = await (await server.api(
    "bob",
    `/api/groups/${group._id}/history?limit=2&before=${sent[3]!._id}`,
  )).json();
  assertEquals(older.map((m: ChatMessage) => m.text), ["m2", "m3"]);
  assertEquals(
    await refusal(alice, "getChatHistory", { groupId: group._id, userId1: "alice", userId2: "b" }),
    "VALIDATION_ERROR",
  );
  const bad = await server.api("bob", `/api/groups/${group._id}/history?limit=0`);
  assertEquals(bad.status, 400);
  await bad.body?.cancel();
  const missing = await server.api("bob", `/api/groups/${"0".repeat(24)}`);
  assertEquals(missing.status, 404);
  await missing.body?.cancel();
});

Deno.test("markGroupRead moves the member's pointer forward only, tells the members, and the sender sees who read", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const group = await createGroup(alice, "Team", ["bob", "carol"]);
  const first = await sendToGroup(alice, group._id, "one");
  const second = await sendToGroup(alice, group._id, "two");
  const reads = (userId: string, messageId: string) =>
    server.api(userId, `/api/groups/${group._id}/messages/${messageId}/reads`);
  assertEquals(await (await reads("alice", second._id)).json(), { reads: [] });

  const aliceHears = nextEvent(alice, "groupRead");
  const bobEcho = collect(bob, "groupRead");
  const read = await bob.timeout(3000).emitWithAck("markGroupRead", {
    groupId: group._id,
    messageId: second._id,
  });
  assert(read.ok, JSON.stringify(read));
  assertEquals([read.groupId, read.userId, read.messageId], [group._id, "bob", second._id]);
  assert(ISO.test(read.readAt));
  const { ok: _, ...payload } = read;
  assertEquals(await aliceHears, payload);

  // Back to the first: the pointer stays, nobody is told.
  const back = await bob.timeout(3000).emitWithAck("markGroupRead", {
    groupId: group._id,
    messageId: first._id,
  });
  assert(back.ok);
  assertEquals(back.messageId, second._id);
  await settle(bob);
  assertEquals(bobEcho.stop(), [], "the reader's acked socket has it in its ack");

  for (const message of [first, second]) {
    const res = await reads("alice", message._id);
    assertEquals(await res.json(), { reads: [{ userId: "bob", readAt: read.readAt }] });
  }
  const notSender = await reads("bob", first._id);
  assertEquals([notSender.status, (await notSender.json()).code], [403, "FORBIDDEN"]);
  const direct = await send(alice, "bob", "1:1");
  const notInGroup = await reads("alice", direct._id);
  assertEquals(notInGroup.status, 404);
  await notInGroup.body?.cancel();
  assertEquals(
    await refusal(bob, "markGroupRead", { groupId: group._id, messageId: direct._id }),
    "NOT_FOUND",
  );
});

Deno.test("catch-up: an offline member gets the group messages stored meanwhile, once, and not again once acknowledged", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const group = await createGroup(alice, "Team", ["bob", "carol"]);
  const direct = await send(alice, "bob", "1:1 first");
  const sent = [direct];
  for (const text of ["g1", "g2", "g3"]) sent.push(await sendToGroup(alice, group._id, text));

  // Listeners attached before the connect completes: a catch-up may come with it.
  await using clients = clientList();
  const connectWith = async (userId: string, setup: (c: ChatClient) => void) => {
    const client = await connectClient(server.url, { token: await server.token(userId) }, {
      setup,
    });
    clients.push(client);
    return client;
  };
  const caught: ChatMessage[] = [];
  const bob = await connectWith("bob", (c) => acking(c, caught));
  await waitFor(() => caught.length === 4, "bob's catch-up");
  await settle(bob);
  assertEquals(caught.map((m) => m._id), sent.map((m) => m._id), "1:1 and group, oldest first");
  await waitFor(async () => {
    const pending = await server.parley.store.groups.undelivered("bob", { limit: 10 });
    return pending.length === 0;
  }, "bob's acknowledgements to move his delivered pointer");
  bob.close();

  const second: ChatMessage[] = [];
  const again = await connectWith("bob", (c) => c.on("receiveMessage", (m) => void second.push(m)));
  await settle(again, 300);
  assertEquals(second, [], "acknowledged: not offered again");

  // Carol never acknowledges: each connection is offered them once more.
  const unacked: ChatMessage[] = [];
  const carol = await connectWith(
    "carol",
    (c) => c.on("receiveMessage", (m) => void unacked.push(m)),
  );
  await waitFor(() => unacked.length === 3, "carol's catch-up");
  await settle(carol);
  assertEquals(unacked.map((m) => m.text), ["g1", "g2", "g3"], "each once per socket");
});

Deno.test("GET /api/chats/conversations lists groups and 1:1 conversations together, most recent first", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const quiet = await createGroup(alice, "Quiet", ["bob"]);
  await send(alice, "bob", "direct");
  const busy = await createGroup(alice, "Busy", ["bob", "carol"]);
  await sendToGroup(alice, busy._id, "one");
  const last = await sendToGroup(alice, busy._id, "two");

  const rows = await (await server.api("bob", "/api/chats/conversations")).json();
  assertEquals(rows.length, 3);
  assertEquals(rows[0], {
    group: busy,
    lastMessage: last,
    unreadCount: 2,
    muted: false,
    mutedUntil: null,
  });
  assertEquals(Object.keys(rows[1]).sort(), [
    "lastMessage",
    "muted",
    "mutedUntil",
    "unreadCount",
    "user",
  ]);
  assertEquals([rows[1].user._id, rows[1].unreadCount], ["alice", 1], "the 1:1 row's shape");
  assertEquals([rows[2].group._id, rows[2].lastMessage], [quiet._id, null]);

  await bob.timeout(3000).emitWithAck("markGroupRead", { groupId: busy._id, messageId: last._id });
  const after = await (await server.api("bob", "/api/chats/conversations")).json();
  assertEquals(after[0].unreadCount, 0);
  const mine = await (await server.api("alice", "/api/chats/conversations")).json();
  assertEquals(mine[0].unreadCount, 0, "what one sent is not unread to them");
});

Deno.test("typing in a group goes to the other members with its groupId", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const carol = await server.connect("carol");
  const group = await createGroup(alice, "Team", ["bob", "carol"]);
  const bobSees = nextEvent(bob, "userTyping");
  const carolSees = nextEvent(carol, "userTyping");
  const aliceSees = collect(alice, "userTyping");
  const ack = await alice.timeout(3000).emitWithAck("typing", {
    groupId: group._id,
    isTyping: true,
  });
  assert(ack.ok);
  const expected = { userId: "alice", groupId: group._id, isTyping: true };
  assertEquals(await bobSees, expected);
  assertEquals(await carolSees, expected);
  await settle(alice);
  assertEquals(aliceSees.stop(), []);
  assertEquals(
    await refusal(alice, "typing", { groupId: group._id, receiverId: "bob", isTyping: true }),
    "VALIDATION_ERROR",
  );
});

Deno.test("presence reaches users who share only a group", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  await createGroup(alice, "Team", ["dave"]);
  const online = nextEvent(alice, "userOnline", (p) => p.userId === "dave");
  const dave = await server.connect("dave");
  assertEquals((await online).isOnline, true);
  const offline = nextEvent(alice, "userOnline", (p) => p.userId === "dave" && !p.isOnline);
  dave.close();
  assertEquals((await offline).isOnline, false);
});

Deno.test("PUT and DELETE /api/groups/:groupId/mute set and lift the caller's mute, shown in the list", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const group = await createGroup(alice, "Team", ["bob"]);
  const put = (userId: string, body?: unknown) =>
    server.api(userId, `/api/groups/${group._id}/mute`, {
      method: "PUT",
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  const until = new Date(Date.now() + 3_600_000).toISOString();
  const muted = await put("bob", { until });
  assertEquals([muted.status, await muted.json()], [200, {
    groupId: group._id,
    muted: true,
    mutedUntil: until,
  }]);
  const rows = await (await server.api("bob", "/api/chats/conversations")).json();
  assertEquals([rows[0].muted, rows[0].mutedUntil], [true, until]);
  const past = await put("bob", { until: "2000-01-01T00:00:00Z" });
  assertEquals(past.status, 400);
  await past.body?.cancel();
  const outsider = await put("mallory", {});
  assertEquals(outsider.status, 403);
  await outsider.body?.cancel();
  const lifted = await server.api("bob", `/api/groups/${group._id}/mute`, { method: "DELETE" });
  assertEquals(await lifted.json(), { groupId: group._id, muted: false, mutedUntil: null });
});

Deno.test("group events draw from their buckets: RATE_LIMIT_GROUP for membership, RATE_LIMIT_READ for markGroupRead", async () => {
  await using server = await startTestServer({
    RATE_LIMITS: "on",
    RATE_LIMIT_GROUP: "0.5:2",
    RATE_LIMIT_READ: "0.5:1",
  });
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const group = await createGroup(alice, "one", ["bob"]);
  await alice.timeout(3000).emitWithAck("renameGroup", { groupId: group._id, name: "two" });
  const third = await alice.timeout(3000).emitWithAck("addGroupMembers", {
    groupId: group._id,
    userIds: ["carol"],
  });
  assertEquals([third.ok, third.code], [false, "RATE_LIMITED"]);
  assert(third.retryAfterMs > 0);
  // Another user's bucket, and another bucket of the same user, are untouched.
  const bobRenames = await bob.timeout(3000).emitWithAck("renameGroup", {
    groupId: group._id,
    name: "bob's",
  });
  assert(bobRenames.ok, JSON.stringify(bobRenames));
  const message = await sendToGroup(alice, group._id, "read me");
  const read = { groupId: group._id, messageId: message._id };
  assertEquals(await refusal(bob, "markGroupRead", read), undefined);
  assertEquals(await refusal(bob, "markGroupRead", read), "RATE_LIMITED");
});

/** `parley_store_duration_seconds` call counts by operation, from /metrics. */
async function storeCalls(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const counts = new Map<string, number>();
  for (
    const [, operation, count] of text.matchAll(
      /^parley_store_duration_seconds_count\{operation="([^"]+)"\} (\d+)$/gm,
    )
  ) counts.set(operation!, Number(count));
  return counts;
}

Deno.test("a message to a 256-member group costs one write, not one per member", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const others = Array.from({ length: 255 }, (_, i) => `member-${i}`);
  const group = await createGroup(alice, "Everyone", others);
  assertEquals(group.memberIds.length, 256);
  // The connect and the group's creation still read the store for a moment (presence to the
  // members): measured once the counts are still, so only the send's own calls are counted.
  let before = await storeCalls(server.url);
  for (let still = false; !still;) {
    await delay(200);
    const now = await storeCalls(server.url);
    still = [...now].every(([op, n]) => before.get(op) === n);
    before = now;
  }
  await sendToGroup(alice, group._id, "all hands");
  const after = await storeCalls(server.url);
  const called = [...after].filter(([op, n]) => n !== (before.get(op) ?? 0))
    .map(([op, n]) => [op, n - (before.get(op) ?? 0)]).sort();
  assertEquals(called, [["groups.get", 1], ["groups.insertMessage", 1]]);
});
