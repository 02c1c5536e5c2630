import type { ChatMessage } from "../src/protocol/types.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { collect, nextEvent, settle, waitFor } from "./helpers/events.ts";
import {
  type ChatClient,
  connectClient,
  disconnectAll,
  startTestServer,
} from "./helpers/server.ts";
import { acking } from "./helpers/messages.ts";

Deno.test("a repeated clientMessageId is answered with the original and not delivered again", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const bobGot = acking(bob);
  const first = await alice.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: "once",
    clientMessageId: "c-1",
  });
  assert(first.ok);
  assertEquals(first.message.clientMessageId, "c-1");
  assertEquals(first.duplicate, undefined);
  await waitFor(() => bobGot.length === 1, "bob receives it");

  // The ack answers the resending tab; messageSent goes to the others.
  const otherTab = await server.connect("alice");
  const sentAgain = nextEvent(otherTab, "messageSent");
  const repeat = await alice.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: "different text, same id",
    clientMessageId: "c-1",
  });
  assert(repeat.ok);
  assertEquals(repeat.duplicate, true);
  assertEquals(repeat.message._id, first.message._id);
  assertEquals(repeat.message.text, "once", "the original, not the new content");
  assertEquals((await sentAgain)._id, first.message._id);
  await settle(bob);
  assertEquals(bobGot.length, 1);
  const rows = await (await server.api("bob", "/api/chats/conversations")).json();
  assertEquals(rows[0].unreadCount, 1, "a duplicate does not bump the unread count");
});

Deno.test("concurrent repeats from two sockets of one user store and deliver one message", async () => {
  await using server = await startTestServer();
  const tab1 = await server.connect("alice");
  const tab2 = await server.connect("alice");
  const bob = await server.connect("bob");
  const bobGot = acking(bob);
  const acks = await Promise.all(
    Array.from(
      { length: 10 },
      (_, i) =>
        (i % 2 ? tab1 : tab2).timeout(3000).emitWithAck("sendMessage", {
          receiverId: "bob",
          text: `race ${i}`,
          clientMessageId: "race",
        }),
    ),
  );
  assert(acks.every((a) => a.ok));
  const ids = new Set(acks.map((a) => a.ok && a.message._id));
  assertEquals(ids.size, 1);
  assertEquals(acks.filter((a) => a.ok && !a.duplicate).length, 1);
  await settle(bob);
  assertEquals(bobGot.length, 1);
  const history = await (await server.api("bob", "/api/chats/history/alice")).json();
  assertEquals(history.length, 1);
});

Deno.test("resending a deleted message's clientMessageId recreates nothing: DELETED", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const sent = await alice.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: "regret",
    clientMessageId: "c-del",
  });
  assert(sent.ok);
  assertEquals(
    (await server.api("alice", `/api/chats/${sent.message._id}`, { method: "DELETE" })).status,
    200,
  );
  const again = await alice.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: "regret",
    clientMessageId: "c-del",
  });
  assert(!again.ok);
  assertEquals(again.code, "DELETED");
  assertEquals(await (await server.api("bob", "/api/chats/history/alice")).json(), []);
});

Deno.test("the first acknowledgement stores deliveredAt once and tells the sender's sockets", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const bobPhone = await server.connect("bob");
  const bobLaptop = await server.connect("bob");
  const laptopGot = acking(bobLaptop);
  let phoneAck: (() => void) | undefined;
  bobPhone.on("receiveMessage", (_message, ack) => phoneAck = ack);

  const receipts = collect(alice, "messageDelivered");
  const receipt = nextEvent(alice, "messageDelivered");
  const sent = await alice.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: "ping",
  });
  assert(sent.ok);
  assertEquals(sent.message.deliveredAt, null);
  const got = await receipt;
  assertEquals(got.messageId, sent.message._id);
  assertEquals(got.receiverId, "bob");
  assertEquals(
    (await server.parley.store.messages.get(sent.message._id))?.deliveredAt,
    got.deliveredAt,
  );
  assertEquals(laptopGot.length, 1);

  await waitFor(() => phoneAck !== undefined, "the phone gets it too");
  phoneAck!();
  await settle(alice, 200);
  assertEquals(receipts.stop().length, 1, "a second device's ack changes nothing");
});

Deno.test("offline catch-up: a returning user gets every undelivered message once, oldest first", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const sentIds: string[] = [];
  for (let i = 0; i < 250; i++) {
    const ack = await alice.timeout(3000).emitWithAck("sendMessage", {
      receiverId: "bob",
      text: `o${i}`,
    });
    assert(ack.ok);
    sentIds.push(ack.message._id);
  }
  const receipts = collect(alice, "messageDelivered");

  const token = await server.token("bob");
  let got: ChatMessage[] = [];
  const bob = await connectClient(server.url, { token }, { setup: (c) => got = acking(c) });
  await waitFor(() => got.length >= 250, "250 messages caught up", 40_000);
  await settle(bob, 200);
  assertEquals(got.map((m) => m._id), sentIds, "each once, oldest first");
  await waitFor(() => receipts.items.length === 250, "250 delivery receipts", 40_000);
  await disconnectAll([bob]);

  // Everything was acknowledged: the next connect brings nothing.
  let gotAgain: ChatMessage[] = [];
  const again = await connectClient(server.url, { token }, {
    setup: (c) => gotAgain = acking(c),
  });
  await settle(again, 200);
  assertEquals(gotAgain, []);
  await disconnectAll([again]);
});

Deno.test("a client that never acknowledges gets its undelivered messages again on each connect", async () => {
  await using server = await startTestServer({ DELIVERY_ACK_TIMEOUT_MS: "200" });
  const alice = await server.connect("alice");
  const token = await server.token("bob");
  const legacy = await connectClient(server.url, { token });
  const first = collect(legacy, "receiveMessage");
  const sent = await alice.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: "hello?",
  });
  assert(sent.ok);
  await waitFor(() => first.items.length === 1, "live delivery");
  await disconnectAll([legacy]);
  assertEquals((await server.parley.store.messages.get(sent.message._id))?.deliveredAt, null);

  let second: Promise<ChatMessage> | undefined;
  const back = await connectClient(server.url, { token }, {
    setup: (client) => second = nextEvent(client, "receiveMessage"),
  });
  assertEquals((await second!)._id, sent.message._id);
  await disconnectAll([back]);
});

Deno.test("a device connecting after another device got the message reads it through history", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const phone = await server.connect("bob");
  const phoneGot = acking(phone);
  const delivered = nextEvent(alice, "messageDelivered");
  const sent = await alice.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: "seen",
  });
  assert(sent.ok);
  await delivered;
  assertEquals(phoneGot.length, 1);
  const laptop = await server.connect("bob");
  const laptopGot = collect(laptop, "receiveMessage");
  const history = await laptop.timeout(3000).emitWithAck("getChatHistory", {
    userId1: "bob",
    userId2: "alice",
  });
  assert(history.ok);
  assertEquals(history.messages.map((m: ChatMessage) => m._id), [sent.message._id]);
  await settle(laptop, 200);
  assertEquals(laptopGot.stop(), []);
});

Deno.test("messageRead implies delivered", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  bob.on("receiveMessage", () => {/* shown, never acknowledged */});
  const sent = await alice.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: "read it",
  });
  assert(sent.ok);
  const read = await bob.timeout(3000).emitWithAck("messageRead", {
    messageId: sent.message._id,
  });
  assert(read.ok);
  const stored = await server.parley.store.messages.get(sent.message._id);
  assertEquals(stored?.deliveredAt, stored?.readAt);
  assert(stored?.deliveredAt);
});

Deno.test("a short network drop: the connection recovers, and each message arrives exactly once", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const { io } = await import("socket.io-client");
  const bob: ChatClient = io(server.url, {
    auth: { token: await server.token("bob") },
    transports: ["websocket"],
    reconnectionDelay: 50,
    reconnectionDelayMax: 100,
  });
  await new Promise<void>((resolve) => bob.once("connect", () => resolve()));
  const got = acking(bob);
  const delivered = nextEvent(alice, "messageDelivered");
  const before = await alice.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: "before",
  });
  assert(before.ok);
  await delivered; // stored as delivered: a reconnect must not bring it again
  // Recovery resumes from the last room broadcast the client saw.
  const typing = nextEvent(bob, "userTyping");
  alice.emit("typing", { receiverId: "bob", isTyping: true });
  await typing;

  // Drop the transport without a clean disconnect, as a flaky network does.
  const reconnected = new Promise<void>((resolve) => bob.once("connect", () => resolve()));
  bob.io.engine.close();
  const during = await alice.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: "during",
  });
  assert(during.ok);
  await reconnected;
  assert(bob.recovered, "Socket.IO connection state recovery kicked in");
  const after = await alice.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: "after",
  });
  assert(after.ok);
  await waitFor(() => got.length >= 3, "all three messages");
  await settle(bob, 300);
  // Catch-up and live delivery may interleave; clients order by _id.
  const texts = got.toSorted((a, b) => a._id < b._id ? -1 : 1).map((m) => m.text);
  assertEquals(texts, ["before", "during", "after"], JSON.stringify(got));
  await disconnectAll([bob]);
});
