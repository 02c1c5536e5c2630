/**
 * A socket that asks with an ack callback gets its answer in the ack and not
 * again as a broadcast (`messageSent`, `messageRead`); the user's other tabs,
 * and clients that send without an ack as the brief's do, still get the broadcast.
 */
import { io } from "socket.io-client";
import { assert, assertEquals } from "./helpers/assert.ts";
import { collect, nextEvent, settle } from "./helpers/events.ts";
import { type ChatClient, clientList, startTestServer, type TestServer } from "./helpers/server.ts";

Deno.test("a send with an ack: the ack confirms it, the sender's other tab gets messageSent, the receiver receiveMessage", async () => {
  await using server = await startTestServer();
  const tab1 = await server.connect("alice");
  const tab2 = await server.connect("alice");
  const bob = await server.connect("bob");
  const tab1Echo = collect(tab1, "messageSent");
  const onTab2 = nextEvent(tab2, "messageSent");
  const received = nextEvent(bob, "receiveMessage");
  const ack = await tab1.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: "one copy each",
    clientMessageId: "echo-1",
  });
  assert(ack.ok, JSON.stringify(ack));
  assertEquals(await onTab2, ack.message);
  assertEquals(await received, ack.message);

  // A resend with the same id is answered the same way: ack here, messageSent there.
  const again = nextEvent(tab2, "messageSent");
  const repeat = await tab1.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: "one copy each",
    clientMessageId: "echo-1",
  });
  assert(repeat.ok && repeat.duplicate === true, JSON.stringify(repeat));
  assertEquals((await again)._id, ack.message._id);
  await settle(tab1);
  assertEquals(tab1Echo.stop(), []);
});

Deno.test("a send without an ack, as the brief's clients send, still gets messageSent on the sending socket", async () => {
  await using server = await startTestServer();
  const tab1 = await server.connect("alice");
  const tab2 = await server.connect("alice");
  const bob = await server.connect("bob");
  const sent = [nextEvent(tab1, "messageSent"), nextEvent(tab2, "messageSent")];
  const received = nextEvent(bob, "receiveMessage");
  tab1.emit("sendMessage", { receiverId: "bob", text: "no ack" });
  const [onTab1, onTab2] = await Promise.all(sent);
  assertEquals(onTab1?.text, "no ack");
  assertEquals(onTab2, onTab1);
  assertEquals(await received, onTab1);
});

Deno.test("messageRead with an ack: the reading socket has its receipt in the ack, everyone else concerned gets messageRead", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const bob1 = await server.connect("bob");
  const bob2 = await server.connect("bob");
  const send = async (text: string) => {
    const ack = await alice.timeout(3000).emitWithAck("sendMessage", { receiverId: "bob", text });
    assert(ack.ok);
    return ack.message._id;
  };

  const first = await send("read with an ack");
  const bob1Echo = collect(bob1, "messageRead");
  const others = [nextEvent(alice, "messageRead"), nextEvent(bob2, "messageRead")];
  const ack = await bob1.timeout(3000).emitWithAck("messageRead", { messageId: first });
  assert(ack.ok, JSON.stringify(ack));
  const receipt = { messageId: first, readerId: "bob", readAt: ack.readAt };
  for (const got of await Promise.all(others)) assertEquals(got, receipt);
  await settle(bob1);
  assertEquals(bob1Echo.stop(), []);

  const second = await send("read without an ack");
  const everyone = [alice, bob1, bob2].map((c) => nextEvent(c, "messageRead"));
  bob1.emit("messageRead", { messageId: second });
  for (const got of await Promise.all(everyone)) assertEquals(got.messageId, second);
});

/** A client that resumes its session after a drop (connection state recovery). */
async function recovering(server: TestServer, userId: string): Promise<ChatClient> {
  const client: ChatClient = io(server.url, {
    auth: { token: await server.token(userId) },
    transports: ["websocket"],
    reconnectionDelay: 50,
    reconnectionDelayMax: 100,
  });
  await new Promise<void>((resolve) => client.once("connect", () => resolve()));
  return client;
}

/** Drops the transport without a clean disconnect, as a flaky network does. */
function drop(client: ChatClient): Promise<void> {
  const back = new Promise<void>((resolve) => client.once("connect", () => resolve()));
  client.io.engine.close();
  return back;
}

Deno.test("after a drop, a tab gets the messageSent it missed; the sending tab's ack is not replayed as one", async () => {
  await using server = await startTestServer();
  await using tabs = clientList();
  const tab1 = await recovering(server, "alice");
  const tab2 = await recovering(server, "alice");
  tabs.push(tab1, tab2);
  const bob = await server.connect("bob");
  // Recovery resumes from the last room broadcast a client saw: give both one.
  const seen = [nextEvent(tab1, "userTyping"), nextEvent(tab2, "userTyping")];
  bob.emit("typing", { receiverId: "alice", isTyping: true });
  await Promise.all(seen);
  const tab1Echo = collect(tab1, "messageSent");
  const tab2Got = collect(tab2, "messageSent");

  const tab2Back = drop(tab2);
  const during = await tab1.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: "while tab 2 was away",
  });
  assert(during.ok);
  await tab2Back;
  assert(tab2.recovered, "tab 2 resumed its session");
  await settle(tab2);
  assertEquals(tab2Got.stop().map((m) => m._id), [during.message._id]);

  await drop(tab1);
  assert(tab1.recovered, "tab 1 resumed its session");
  await settle(tab1);
  assertEquals(tab1Echo.stop(), [], "the missed broadcasts replayed leave out the sending tab");
});
