import { assert, assertEquals, assertExists, assertMatch } from "./helpers/assert.ts";
import { collect, nextEvent, settle } from "./helpers/events.ts";
import { startTestServer } from "./helpers/server.ts";

Deno.test("sendMessage stores the message, then confirms it to the sender and delivers it to the receiver", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const received = nextEvent(bob, "receiveMessage");
  const echoed = collect(alice, "messageSent");

  const ack = await alice.timeout(3000).emitWithAck("sendMessage", {
    senderId: "alice",
    receiverId: "bob",
    text: "  Hello!  ",
    file: null,
  });

  assert(ack.ok, JSON.stringify(ack));
  const message = ack.message;
  assertEquals(message.senderId, "alice");
  assertEquals(message.receiverId, "bob");
  assertEquals(message.text, "Hello!");
  assertEquals(message.file, null);
  assertEquals(message.readAt, null);
  assertEquals(message.clientMessageId, null);
  assertMatch(message.createdAt, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
  assertEquals(typeof message._id, "string");
  assertEquals(await received, message);
  assertEquals(await server.parley.store.messages.get(message._id), message);
  await settle(alice);
  assertEquals(echoed.stop(), [], "the ack is the sending socket's confirmation");
});

Deno.test("sendMessage without an ack callback still answers with messageSent", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const sent = nextEvent(alice, "messageSent");
  alice.emit("sendMessage", { receiverId: "bob", text: "fire and forget" });
  assertEquals((await sent).text, "fire and forget");
});

Deno.test("sendMessage carries file metadata, with or without text", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const file = {
    url: "https://cdn.example.com/cat.png",
    type: "image",
    name: "cat.png",
    size: 1234,
  } as const;
  for (const text of [undefined, null, "", "look"]) {
    const ack = await alice.timeout(3000).emitWithAck("sendMessage", {
      receiverId: "bob",
      text,
      file,
    });
    assert(ack.ok, JSON.stringify(ack));
    assertEquals(ack.message.file, file);
    assertEquals(ack.message.text, text ? text : null);
  }
});

Deno.test("messageSent reaches the sender's other tabs, receiveMessage every tab of the receiver, and no one else", async () => {
  await using server = await startTestServer();
  const alice1 = await server.connect("alice");
  const alice2 = await server.connect("alice");
  const bob1 = await server.connect("bob");
  const bob2 = await server.connect("bob");
  const carol = await server.connect("carol");
  const carolGot = collect(carol, "receiveMessage");
  const alice1Echo = collect(alice1, "messageSent");
  const waits = [
    nextEvent(alice2, "messageSent"),
    nextEvent(bob1, "receiveMessage"),
    nextEvent(bob2, "receiveMessage"),
  ];
  const ack = await alice1.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: "hi both",
  });
  assert(ack.ok);
  for (const got of await Promise.all(waits)) assertEquals(got._id, ack.message._id);
  await settle(carol);
  assertEquals(carolGot.stop(), []);
  await settle(alice1, 0);
  assertEquals(alice1Echo.stop(), [], "the sending tab has the message in its ack");
});

Deno.test("sendMessage refuses a forged senderId and stores nothing", async () => {
  await using server = await startTestServer();
  const mallory = await server.connect("mallory");
  const bob = await server.connect("bob");
  const bobGot = collect(bob, "receiveMessage");
  const error = nextEvent(mallory, "messageError");
  const ack = await mallory.timeout(3000).emitWithAck("sendMessage", {
    senderId: "alice",
    receiverId: "bob",
    text: "I am alice, honest",
  });
  assertEquals(ack.ok, false);
  assert(!ack.ok);
  assertEquals(ack.code, "FORBIDDEN");
  assertEquals(ack.event, "sendMessage");
  assertEquals((await error).code, "FORBIDDEN");
  await settle(bob);
  assertEquals(bobGot.stop(), []);
  assertEquals(
    await server.parley.store.messages.history("alice", "bob", { limit: 10, skip: 0 }),
    [],
  );
  assertEquals(
    await server.parley.store.messages.listForUser("mallory", { limit: 10, skip: 0 }),
    [],
  );
});

Deno.test("sendMessage rejects invalid payloads with VALIDATION_ERROR and stores nothing", async (t) => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const cases: Record<string, unknown> = {
    "no payload": undefined,
    "a string": "hello",
    "no receiver": { text: "hi" },
    "no text and no file": { receiverId: "bob" },
    "blank text": { receiverId: "bob", text: "   " },
    "text too long": { receiverId: "bob", text: "x".repeat(5001) },
    "text not a string": { receiverId: "bob", text: 42 },
    "receiver not a string": { receiverId: { $ne: null }, text: "hi" },
    "file with a javascript: url": {
      receiverId: "bob",
      file: { url: "javascript:alert(1)", type: "image", name: "x", size: 1 },
    },
    "file with an unknown type": {
      receiverId: "bob",
      file: { url: "https://x.example/a", type: "exe", name: "a", size: 1 },
    },
    "file with zero size": {
      receiverId: "bob",
      file: { url: "https://x.example/a", type: "document", name: "a", size: 0 },
    },
    "clientMessageId too long": {
      receiverId: "bob",
      text: "hi",
      clientMessageId: "x".repeat(65),
    },
    "message to yourself": { receiverId: "alice", text: "hi me" },
  };
  for (const [name, payload] of Object.entries(cases)) {
    await t.step(name, async () => {
      const ack = await alice.timeout(3000).emitWithAck("sendMessage", payload as never);
      assert(!ack.ok, `accepted: ${JSON.stringify(payload)}`);
      assertEquals(ack.code, "VALIDATION_ERROR");
      assert(ack.error.length > 0);
    });
  }
  assertEquals(
    await server.parley.store.messages.listForUser("alice", { limit: 10, skip: 0 }),
    [],
  );
});

Deno.test("typing reaches only the receiver's sockets as userTyping and is never stored", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const bob1 = await server.connect("bob");
  const bob2 = await server.connect("bob");
  const carol = await server.connect("carol");
  const carolGot = collect(carol, "userTyping");
  const aliceGot = collect(alice, "userTyping");
  const seen = [nextEvent(bob1, "userTyping"), nextEvent(bob2, "userTyping")];
  alice.emit("typing", { receiverId: "bob", isTyping: true });
  for (const got of await Promise.all(seen)) {
    assertEquals(got, { userId: "alice", isTyping: true });
  }
  const stopped = nextEvent(bob1, "userTyping");
  alice.emit("typing", { receiverId: "bob", isTyping: false });
  assertEquals(await stopped, { userId: "alice", isTyping: false });
  await settle(carol);
  assertEquals(carolGot.stop(), []);
  assertEquals(aliceGot.stop(), []);
  assertEquals(await server.parley.store.messages.partnersOf("alice"), []);

  const bad = await alice.timeout(3000).emitWithAck(
    "typing",
    { receiverId: "bob", isTyping: "yes" } as never,
  );
  assert(!bad.ok);
  assertEquals(bad.code, "VALIDATION_ERROR");
});

Deno.test("getChatHistory pages newest-first windows in chronological order", async (t) => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  const ids: string[] = [];
  for (let i = 0; i < 7; i++) {
    const from = i % 2 === 0 ? alice : bob;
    const ack = await from.timeout(3000).emitWithAck("sendMessage", {
      receiverId: i % 2 === 0 ? "bob" : "alice",
      text: `m${i}`,
    });
    assert(ack.ok);
    ids.push(ack.message._id);
  }
  const texts = (messages: { text: string | null }[]) => messages.map((m) => m.text);

  await t.step(
    "default page is everything, oldest first, and also arrives as chatHistory",
    async () => {
      const event = nextEvent(alice, "chatHistory");
      const ack = await alice.timeout(3000).emitWithAck("getChatHistory", {
        userId1: "alice",
        userId2: "bob",
      });
      assert(ack.ok);
      assertEquals(texts(ack.messages), ["m0", "m1", "m2", "m3", "m4", "m5", "m6"]);
      assertEquals(await event, ack.messages);
    },
  );
  await t.step("limit and skip count from the newest", async () => {
    const ack = await bob.timeout(3000).emitWithAck("getChatHistory", {
      userId1: "alice",
      userId2: "bob",
      limit: 3,
      skip: 2,
    });
    assert(ack.ok);
    assertEquals(texts(ack.messages), ["m2", "m3", "m4"]);
  });
  await t.step("before gives a stable cursor", async () => {
    const ack = await bob.timeout(3000).emitWithAck("getChatHistory", {
      userId1: "bob",
      userId2: "alice",
      limit: 2,
      before: ids[3],
    });
    assert(ack.ok);
    assertEquals(texts(ack.messages), ["m1", "m2"]);
  });
  await t.step("a third user's history is FORBIDDEN", async () => {
    const carol = await server.connect("carol");
    const error = nextEvent(carol, "messageError");
    const ack = await carol.timeout(3000).emitWithAck("getChatHistory", {
      userId1: "alice",
      userId2: "bob",
    });
    assert(!ack.ok);
    assertEquals(ack.code, "FORBIDDEN");
    assertEquals((await error).code, "FORBIDDEN");
  });
  await t.step("limit outside 1..200 and negative skip are VALIDATION_ERROR", async () => {
    for (const bad of [{ limit: 0 }, { limit: 201 }, { skip: -1 }, { limit: 2.5 }]) {
      const ack = await alice.timeout(3000).emitWithAck("getChatHistory", {
        userId1: "alice",
        userId2: "bob",
        ...bad,
      });
      assert(!ack.ok, JSON.stringify(bad));
      assertEquals(ack.code, "VALIDATION_ERROR");
    }
  });
});

Deno.test("messageRead: only the receiver marks it, once, and the sender's sockets hear it", async () => {
  await using server = await startTestServer();
  const alice1 = await server.connect("alice");
  const alice2 = await server.connect("alice");
  const bob = await server.connect("bob");
  const sent = await alice1.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: "read me",
  });
  assert(sent.ok);
  const messageId = sent.message._id;

  const byAlice = await alice1.timeout(3000).emitWithAck("messageRead", { messageId });
  assert(!byAlice.ok);
  assertEquals(byAlice.code, "FORBIDDEN");
  const carol = await server.connect("carol");
  const byCarol = await carol.timeout(3000).emitWithAck("messageRead", { messageId });
  assert(!byCarol.ok);
  assertEquals(byCarol.code, "FORBIDDEN");
  const unknown = await bob.timeout(3000).emitWithAck("messageRead", {
    messageId: "01NOSUCHMESSAGE0000000000",
  });
  assert(!unknown.ok);
  assertEquals(unknown.code, "NOT_FOUND");
  assertEquals((await server.parley.store.messages.get(messageId))?.readAt, null);

  const receipts = [nextEvent(alice1, "messageRead"), nextEvent(alice2, "messageRead")];
  const ack = await bob.timeout(3000).emitWithAck("messageRead", { messageId });
  assert(ack.ok);
  assertEquals(ack.messageId, messageId);
  assertEquals(ack.readerId, "bob");
  for (const receipt of await Promise.all(receipts)) {
    assertEquals(receipt, { messageId, readerId: "bob", readAt: ack.readAt });
  }
  assertEquals((await server.parley.store.messages.get(messageId))?.readAt, ack.readAt);

  const again = collect(alice1, "messageRead");
  const repeat = await bob.timeout(3000).emitWithAck("messageRead", { messageId });
  assert(repeat.ok);
  assertEquals(repeat.readAt, ack.readAt);
  await settle(alice1);
  assertEquals(again.stop(), []);
});

Deno.test("setUserId accepts the token's own user and refuses any other", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const own = await alice.timeout(3000).emitWithAck("setUserId", "alice");
  assert(own.ok);
  assertEquals(own.userId, "alice");
  alice.emit("setUserId", "alice");
  const error = nextEvent(alice, "messageError");
  alice.emit("setUserId", "bob");
  const got = await error;
  assertEquals(got.code, "FORBIDDEN");
  assertEquals(got.event, "setUserId");
  // Still alice: a message sent now is from alice.
  const ack = await alice.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: "still me",
  });
  assert(ack.ok);
  assertEquals(ack.message.senderId, "alice");
});

Deno.test("messages created in the same millisecond keep their arrival order", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const acks = await Promise.all(
    Array.from(
      { length: 40 },
      (_, i) =>
        alice.timeout(5000).emitWithAck("sendMessage", { receiverId: "bob", text: `n${i}` }),
    ),
  );
  assert(acks.every((a) => a.ok));
  const history = await server.parley.store.messages.history("alice", "bob", {
    limit: 200,
    skip: 0,
  });
  assertEquals(history.map((m) => m.text), acks.map((_, i) => `n${i}`));
  assertExists(history[0]);
});

Deno.test("the typed request() helper sends and resolves with the acknowledgement", async () => {
  const { request } = await import("../src/protocol/client.ts");
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const sent = await request(alice, "sendMessage", { receiverId: "bob", text: "typed" });
  assert(sent.ok);
  assertEquals(sent.message.text, "typed");
  const refused = await request(alice, "getChatHistory", { userId1: "bob", userId2: "carol" });
  assert(!refused.ok);
  assertEquals(refused.code, "FORBIDDEN");
});
