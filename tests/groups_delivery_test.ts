/**
 * Groups beside the chat (issue 19): push notifications for offline members
 * (a muted group skipped), attachments every member (and only a member) may
 * download, search over 1:1 and group messages, and the events webhook's
 * `message.created` for a group message. Real sockets, REST and receivers.
 */
import type { ChatMessage } from "../src/protocol/types.ts";
import { userRoom } from "../src/realtime/io.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { settle, waitFor } from "./helpers/events.ts";
import { PNG } from "./helpers/files.ts";
import { createGroup, sendToGroup } from "./helpers/groups.ts";
import { send } from "./helpers/messages.ts";
import { startWebhookReceiver } from "./helpers/push_receivers.ts";
import { startTestServer } from "./helpers/server.ts";

const SECRET = "group-hooks-secret-that-is-32-characters-long";

Deno.test("push: a group message notifies each offline member once, not the connected, not one who muted the group", async () => {
  await using hooks = await startWebhookReceiver(SECRET);
  await using server = await startTestServer({
    PUSH_WEBHOOK_URL: hooks.url,
    PUSH_WEBHOOK_SECRET: SECRET,
  });
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const group = await createGroup(alice, "Team", ["bob", "carol", "dave"]);
  const muted = await server.api("dave", `/api/groups/${group._id}/mute`, { method: "PUT" });
  assertEquals(muted.status, 200);
  await muted.body?.cancel();

  const message = await sendToGroup(alice, group._id, "standup in 5");
  await waitFor(() => hooks.requests.length >= 1, "the webhook call");
  await settle(bob, 300);
  assertEquals(hooks.requests.length, 1, "carol only: bob is connected, dave muted the group");
  const [call] = hooks.requests;
  assert(call!.signatureValid);
  assertEquals(JSON.parse(call!.body), {
    event: "message",
    message,
    receiver: { _id: "carol", username: null, email: null },
    group: { _id: group._id, name: "Team" },
  });

  // Dave unmutes and goes on being offline: the next one reaches him too.
  await (await server.api("dave", `/api/groups/${group._id}/mute`, { method: "DELETE" })).body
    ?.cancel();
  bob.close();
  await waitFor(
    () => !server.parley.io.sockets.adapter.rooms.has(userRoom("bob")),
    "bob's socket to be gone",
  );
  await sendToGroup(alice, group._id, "starting");
  await waitFor(() => hooks.requests.length === 4, "bob, carol and dave notified");
  const receivers = hooks.requests.slice(1).map((r) => JSON.parse(r.body).receiver._id).sort();
  assertEquals(receivers, ["bob", "carol", "dave"]);
});

Deno.test("uploads: every member may download a file sent to the group; an outsider or a removed member may not", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const group = await createGroup(alice, "Team", ["bob", "carol"]);
  const uploaded = await server.api("alice", "/api/uploads?name=cat.png", {
    method: "POST",
    body: PNG,
    headers: { "content-type": "image/png" },
  });
  assertEquals(uploaded.status, 201);
  const file = await uploaded.json();
  const ack = await alice.timeout(3000).emitWithAck("sendMessage", { groupId: group._id, file });
  assert(ack.ok, JSON.stringify(ack));
  const path = new URL(file.url).pathname;
  const status = async (userId: string) => {
    const res = await server.api(userId, path);
    await res.body?.cancel();
    return res.status;
  };
  assertEquals(await status("bob"), 200);
  assertEquals(await status("carol"), 200);
  assertEquals(await status("mallory"), 403);
  await alice.timeout(3000).emitWithAck("removeGroupMember", {
    groupId: group._id,
    userId: "carol",
  });
  assertEquals(await status("carol"), 403, "a removed member keeps no access");
  assertEquals(await status("bob"), 200);
});

Deno.test("search finds 1:1 and group messages together, newest first; `with` keeps to one 1:1 conversation", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const group = await createGroup(alice, "Team", ["bob"]);
  const first = await send(alice, "bob", "pizza at mine");
  const second = await sendToGroup(alice, group._id, "pizza for everyone");
  await sendToGroup(alice, group._id, "salad");
  const third = await send(alice, "bob", "pizza is here");
  const search = async (userId: string, query: string): Promise<ChatMessage[]> =>
    await (await server.api(userId, `/api/chats/search?${query}`)).json();

  assertEquals((await search("bob", "q=pizza")).map((m) => m._id), [
    third._id,
    second._id,
    first._id,
  ]);
  assertEquals((await search("bob", "q=pizza&limit=2")).map((m) => m._id), [
    third._id,
    second._id,
  ]);
  assertEquals((await search("bob", "q=pizza&with=alice")).map((m) => m._id), [
    third._id,
    first._id,
  ]);
  assertEquals(await search("mallory", "q=pizza"), [], "not a member");
});

Deno.test("events webhook: a group message is message.created, and message.deleted, with its groupId and receiverId null", async () => {
  await using hooks = await startWebhookReceiver(SECRET);
  await using server = await startTestServer({
    EVENTS_WEBHOOK_URL: hooks.url,
    EVENTS_WEBHOOK_SECRET: SECRET,
  });
  const alice = await server.connect("alice");
  const group = await createGroup(alice, "Team", ["bob"]);
  const message = await sendToGroup(alice, group._id, "for the record");
  await waitFor(
    () => hooks.requests.some((r) => JSON.parse(r.body).event === "message.created"),
    "message.created",
  );
  const created = hooks.requests.map((r) => JSON.parse(r.body))
    .find((body) => body.event === "message.created");
  assertEquals(created.data, message);
  assertEquals([created.data.groupId, created.data.receiverId], [group._id, null]);

  const res = await server.api("alice", `/api/chats/${message._id}`, { method: "DELETE" });
  await res.body?.cancel();
  await waitFor(
    () => hooks.requests.some((r) => JSON.parse(r.body).event === "message.deleted"),
    "message.deleted",
  );
  const deleted = hooks.requests.map((r) => JSON.parse(r.body))
    .find((body) => body.event === "message.deleted");
  assertEquals(deleted.data, {
    messageId: message._id,
    senderId: "alice",
    receiverId: null,
    groupId: group._id,
    deletedAt: deleted.time,
  });
});
