/**
 * Reports (receiver only, one per user and message, the content as it was,
 * forwarded as the events webhook's `message.reported`), mutes (no push
 * notification to the muter; the muter's conversation row shows it) and
 * delete for me (the caller's history, lists and unread count only).
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { collect, nextEvent, settle, waitFor } from "./helpers/events.ts";
import { send } from "./helpers/messages.ts";
import { startWebhookReceiver } from "./helpers/push_receivers.ts";
import { delay, disconnectAll, startTestServer } from "./helpers/server.ts";

const SECRET = "webhook-secret-that-is-32-characters-or-more";
const JSON_HEADERS = { "content-type": "application/json" };

Deno.test("POST /api/chats/:messageId/report: the receiver reports once, with the text as it was then", async () => {
  await using hooks = await startWebhookReceiver(SECRET);
  await using server = await startTestServer({
    EVENTS_WEBHOOK_URL: hooks.url,
    EVENTS_WEBHOOK_SECRET: SECRET,
  });
  const alice = await server.connect("alice");
  const sent = await send(alice, "bob", "buy cheap watches");
  const report = (user: string, body: unknown) =>
    server.api(user, `/api/chats/${sent._id}/report`, {
      method: "POST",
      headers: JSON_HEADERS,
      body: JSON.stringify(body),
    });

  const first = await report("bob", { reason: "spam", note: "  third time today " });
  assertEquals(first.status, 201);
  const stored = await first.json();
  assertEquals(
    [stored.messageId, stored.reporterId, stored.reportedUserId, stored.reason, stored.note],
    [sent._id, "bob", "alice", "spam", "third time today"],
  );
  assertEquals(stored.text, "buy cheap watches");

  const edit = await alice.timeout(3000).emitWithAck("editMessage", {
    messageId: sent._id,
    text: "nothing to see here",
  });
  assert(edit.ok);
  const repeat = await report("bob", { reason: "abuse" });
  assertEquals(repeat.status, 200, "a repeat answers the first report");
  const again = await repeat.json();
  assertEquals([again._id, again.reason, again.text], [stored._id, "spam", "buy cheap watches"]);

  const bySender = await report("alice", { reason: "other" });
  assertEquals([bySender.status, (await bySender.json()).code], [403, "FORBIDDEN"]);
  const byStranger = await report("carol", { reason: "other" });
  assertEquals([byStranger.status, (await byStranger.json()).code], [403, "FORBIDDEN"]);
  const badReason = await report("bob", { reason: "boring" });
  assertEquals([badReason.status, (await badReason.json()).code], [400, "VALIDATION_ERROR"]);
  const unknown = await server.api("bob", "/api/chats/nosuchmessage/report", {
    method: "POST",
    headers: JSON_HEADERS,
    body: JSON.stringify({ reason: "spam" }),
  });
  assertEquals([unknown.status, (await unknown.json()).code], [404, "NOT_FOUND"]);

  // Forwarded to the host app: one message.reported, and the edit as message.edited.
  const events = () => hooks.requests.map((r) => JSON.parse(r.body));
  await waitFor(
    () =>
      events().some((e) => e.event === "message.reported") &&
      events().some((e) => e.event === "message.edited"),
    "message.reported and message.edited",
  );
  await delay(100);
  const reported = events().filter((e) => e.event === "message.reported");
  assertEquals(reported.length, 1);
  assertEquals([reported[0].data._id, reported[0].data.text], [stored._id, "buy cheap watches"]);
  const edited = events().find((e) => e.event === "message.edited");
  assertEquals([edited.data._id, edited.data.text], [sent._id, "nothing to see here"]);
  assert(hooks.requests.every((r) => r.signatureValid));
});

Deno.test("a muted conversation sends the muter no push notification; its row shows muted and mutedUntil", async () => {
  await using hooks = await startWebhookReceiver(SECRET);
  await using server = await startTestServer({
    PUSH_WEBHOOK_URL: hooks.url,
    PUSH_WEBHOOK_SECRET: SECRET,
  });
  const alice = await server.connect("alice");
  const carol = await server.connect("carol");
  const pushedTo = () =>
    hooks.requests.map((r) => JSON.parse(r.body)).map((b) =>
      `${b.message.senderId}>${b.receiver._id}:${b.message.text}`
    );

  const muted = await server.api("bob", "/api/chats/conversations/alice/mute", { method: "PUT" });
  assertEquals([muted.status, await muted.json()], [200, {
    userId: "alice",
    muted: true,
    mutedUntil: null,
  }]);
  await send(alice, "bob", "muted one");
  await send(carol, "bob", "from carol");
  await waitFor(() => pushedTo().length >= 1, "carol's notification");
  await delay(200);
  assertEquals(pushedTo(), ["carol>bob:from carol"], "nothing for the muted conversation");

  const rows = await (await server.api("bob", "/api/chats/conversations")).json();
  const byPartner = Object.fromEntries(
    rows.map((r: { user: { _id: string }; muted: boolean; mutedUntil: string | null }) => [
      r.user._id,
      [r.muted, r.mutedUntil],
    ]),
  );
  assertEquals(byPartner, { alice: [true, null], carol: [false, null] });
  const aliceRows = await (await server.api("alice", "/api/chats/conversations")).json();
  assertEquals([aliceRows[0].muted, aliceRows[0].mutedUntil], [false, null], "the muter's only");

  const unmuted = await server.api("bob", "/api/chats/conversations/alice/mute", {
    method: "DELETE",
  });
  assertEquals(await unmuted.json(), { userId: "alice", muted: false, mutedUntil: null });
  await send(alice, "bob", "heard again");
  await waitFor(
    () => pushedTo().includes("alice>bob:heard again"),
    "the notification after unmute",
  );
  await disconnectAll([alice, carol]);
});

Deno.test("mute until a time: mutedUntil shows it, and once it passes the conversation notifies again", async () => {
  await using hooks = await startWebhookReceiver(SECRET);
  await using server = await startTestServer({
    PUSH_WEBHOOK_URL: hooks.url,
    PUSH_WEBHOOK_SECRET: SECRET,
  });
  const alice = await server.connect("alice");
  const mute = (body: unknown) =>
    server.api("bob", "/api/chats/conversations/alice/mute", {
      method: "PUT",
      headers: JSON_HEADERS,
      body: JSON.stringify(body),
    });
  const past = await mute({ until: new Date(Date.now() - 1000).toISOString() });
  assertEquals([past.status, (await past.json()).code], [400, "VALIDATION_ERROR"]);
  const garbage = await mute({ until: "tomorrow" });
  assertEquals([garbage.status, (await garbage.json()).code], [400, "VALIDATION_ERROR"]);
  const self = await server.api("bob", "/api/chats/conversations/bob/mute", { method: "PUT" });
  assertEquals([self.status, (await self.json()).code], [400, "VALIDATION_ERROR"]);

  const until = new Date(Date.now() + 600).toISOString();
  const res = await mute({ until });
  assertEquals(await res.json(), { userId: "alice", muted: true, mutedUntil: until });
  await send(alice, "bob", "while muted");
  const rows = await (await server.api("bob", "/api/chats/conversations")).json();
  assertEquals([rows[0].muted, rows[0].mutedUntil], [true, until]);
  await delay(300);
  assertEquals(hooks.requests.length, 0);

  await delay(400); // past `until`
  const after = await (await server.api("bob", "/api/chats/conversations")).json();
  assertEquals([after[0].muted, after[0].mutedUntil], [false, null]);
  await send(alice, "bob", "after the mute");
  await waitFor(() => hooks.requests.length === 1, "a notification once the mute passed");
  assertEquals(JSON.parse(hooks.requests[0]!.body).message.text, "after the mute");
});

Deno.test("DELETE /api/chats/:messageId?for=me hides it for the caller only; unread count follows", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const bobOtherTab = await server.connect("bob");
  const first = await send(alice, "bob", "one");
  const second = await send(alice, "bob", "two");
  let rows = await (await server.api("bob", "/api/chats/conversations")).json();
  assertEquals(rows[0].unreadCount, 2);

  const aliceHears = collect(alice, "messageDeleted");
  const otherTabHears = nextEvent(bobOtherTab, "messageDeleted");
  const res = await server.api("bob", `/api/chats/${second._id}?for=me`, { method: "DELETE" });
  assertEquals([res.status, await res.json()], [200, { deleted: true, messageId: second._id }]);
  assertEquals(await otherTabHears, { messageId: second._id });
  await settle(alice);
  assertEquals(aliceHears.stop(), [], "the other user is not told");

  const bobHistory = await (await server.api("bob", "/api/chats/history/alice")).json();
  assertEquals(bobHistory.map((m: { _id: string }) => m._id), [first._id]);
  const bobPage = await bob.timeout(3000).emitWithAck("getChatHistory", {
    userId1: "alice",
    userId2: "bob",
  });
  assert(bobPage.ok);
  assertEquals(bobPage.messages.map((m: { _id: string }) => m._id), [first._id], "sockets too");
  const bobList = await (await server.api("bob", "/api/chats/my-chats")).json();
  assertEquals(bobList.map((m: { _id: string }) => m._id), [first._id]);
  rows = await (await server.api("bob", "/api/chats/conversations")).json();
  assertEquals([rows[0].unreadCount, rows[0].lastMessage._id], [1, first._id]);
  const aliceHistory = await (await server.api("alice", "/api/chats/history/bob")).json();
  assertEquals(aliceHistory.map((m: { _id: string }) => m._id), [first._id, second._id]);

  // Either participant may; a stranger may not; for everyone stays the sender's.
  const bySender = await server.api("alice", `/api/chats/${first._id}?for=me`, {
    method: "DELETE",
  });
  assertEquals(bySender.status, 200);
  await bySender.body?.cancel();
  const byStranger = await server.api("carol", `/api/chats/${first._id}?for=me`, {
    method: "DELETE",
  });
  assertEquals([byStranger.status, (await byStranger.json()).code], [403, "FORBIDDEN"]);
  const forEveryone = await server.api("bob", `/api/chats/${first._id}?for=everyone`, {
    method: "DELETE",
  });
  assertEquals([forEveryone.status, (await forEveryone.json()).code], [403, "FORBIDDEN"]);
  const badFor = await server.api("bob", `/api/chats/${first._id}?for=them`, { method: "DELETE" });
  assertEquals([badFor.status, (await badFor.json()).code], [400, "VALIDATION_ERROR"]);
  const unknown = await server.api("bob", `/api/chats/nosuch?for=me`, { method: "DELETE" });
  assertEquals([unknown.status, (await unknown.json()).code], [404, "NOT_FOUND"]);
});
