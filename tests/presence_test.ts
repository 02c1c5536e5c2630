import { assert, assertEquals } from "./helpers/assert.ts";
import { collect, nextEvent, settle, waitFor } from "./helpers/events.ts";
import {
  type ChatClient,
  connectClient,
  delay,
  disconnectAll,
  startTestServer,
  type TestServer,
} from "./helpers/server.ts";

/** alice and bob share a conversation; carol shares none with alice. */
async function withConversation(server: TestServer): Promise<void> {
  const alice = await server.connect("alice");
  const ack = await alice.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: "hi",
  });
  assert(ack.ok);
  await disconnectAll([alice]);
  await delay(150); // past the grace period: alice is offline again
}

function close(client: ChatClient): Promise<void> {
  return disconnectAll([client]);
}

Deno.test("presence: partners see a user come online and go offline; others see nothing; a second tab changes nothing", async (t) => {
  await using server = await startTestServer({ PRESENCE_GRACE_MS: "100" });
  await withConversation(server);
  const bob = await server.connect("bob");
  const carol = await server.connect("carol");
  const carolSaw = collect(carol, "userOnline");
  const bobSaw = collect(bob, "userOnline");

  let tab1!: ChatClient;
  let tab2!: ChatClient;
  await t.step("first socket announces online, stored first", async () => {
    const online = nextEvent(bob, "userOnline");
    tab1 = await server.connect("alice");
    const got = await online;
    assertEquals(got.userId, "alice");
    assertEquals(got.isOnline, true);
    const stored = await server.parley.store.users.get("alice");
    assertEquals(stored?.isOnline, true);
  });

  await t.step("a second tab connecting and closing sends nothing", async () => {
    tab2 = await server.connect("alice");
    await close(tab2);
    await delay(250);
    await settle(bob);
    assertEquals(bobSaw.items.length, 1);
    assertEquals((await server.parley.store.users.get("alice"))?.isOnline, true);
  });

  await t.step(
    "the last socket leaving announces offline with lastSeen, within 2 s",
    async () => {
      const started = Date.now();
      const offline = nextEvent(bob, "userOnline", (p) => !p.isOnline, 2000);
      await close(tab1);
      const got = await offline;
      assert(Date.now() - started < 2000);
      assertEquals(got.userId, "alice");
      const stored = await server.parley.store.users.get("alice");
      assertEquals(stored?.isOnline, false);
      assertEquals(stored?.lastSeen, got.lastSeen);
      assert(got.lastSeen !== null && Date.parse(got.lastSeen) >= started - 5);
    },
  );

  await settle(carol);
  assertEquals(carolSaw.stop(), []);
  assertEquals(bobSaw.stop().length, 2);
});

Deno.test("presence: a reconnect within the grace period does not flap", async () => {
  await using server = await startTestServer({ PRESENCE_GRACE_MS: "300" });
  await withConversation(server);
  await delay(250);
  const bob = await server.connect("bob");
  const online = nextEvent(bob, "userOnline");
  const alice = await server.connect("alice");
  await online;
  const saw = collect(bob, "userOnline");
  await close(alice);
  await delay(50);
  await server.connect("alice");
  await delay(400);
  await settle(bob);
  assertEquals(saw.stop(), []);
  assertEquals((await server.parley.store.users.get("alice"))?.isOnline, true);
});

Deno.test("presence: PRESENCE_BROADCAST=all tells every socket", async () => {
  await using server = await startTestServer({ PRESENCE_BROADCAST: "all" });
  const carol = await server.connect("carol");
  const online = nextEvent(carol, "userOnline", (p) => p.userId === "dave");
  await server.connect("dave");
  assertEquals((await online).isOnline, true);
});

Deno.test("presence: the token's username and email fill the user record", async () => {
  await using server = await startTestServer();
  const token = await server.token("erin", { username: "Erin", email: "erin@example.com" });
  const client = await connectClient(server.url, { token });
  await waitFor(
    async () => (await server.parley.store.users.get("erin"))?.isOnline === true,
    "erin online",
  );
  const user = await server.parley.store.users.get("erin");
  assertEquals(user?.username, "Erin");
  assertEquals(user?.email, "erin@example.com");
  assertEquals(user?.isOnline, true);
  await disconnectAll([client]);
});
