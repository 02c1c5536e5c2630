/**
 * Connection state recovery replays what a dropped connection missed only while the room
 * broadcasts it missed are still kept: at most RECOVERY_BUFFER_BYTES of them (so a busy node's
 * memory does not grow with its traffic; 20,000 bytes hold about 40 `messageSent`). A connection that missed more starts a new session
 * and still gets every message, from the store; with RECOVERY_WINDOW_MS=0 none is recovered.
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { waitFor } from "./helpers/events.ts";
import { type ChatClient, delay, startTestServer } from "./helpers/server.ts";

/**
 * Bob drops his connection (`rounds` times); while he is away alice sends him `sends` messages
 * (each a room broadcast of `messageSent` to her room) and then stops typing to him (a room
 * broadcast to his); bob comes back. Per round: whether he was recovered, and the typing
 * states he was replayed.
 */
async function dropWhileSent(env: Record<string, string>, sends: number, rounds = 1) {
  await using server = await startTestServer(env);
  const alice = await server.connect("alice");
  const { io } = await import("socket.io-client");
  const bob: ChatClient = io(server.url, {
    auth: { token: await server.token("bob") },
    transports: ["websocket"],
    reconnection: false,
  });
  await new Promise<void>((resolve) => bob.once("connect", () => resolve()));
  const received = new Set<string>();
  bob.on("receiveMessage", (message, ack) => {
    received.add(message.text ?? "");
    ack();
  });
  const typing: boolean[] = [];
  bob.on("userTyping", ({ isTyping }) => typing.push(isTyping));
  // An offset to resume from: the last room broadcast bob saw.
  alice.emit("typing", { receiverId: "bob", isTyping: true });
  await waitFor(() => typing.length === 1, "bob sees alice typing");

  const results: { recovered: boolean; replayed: boolean[] }[] = [];
  for (let round = 0; round < rounds; round++) {
    const dropped = new Promise((resolve) => bob.once("disconnect", resolve));
    bob.io.engine.close(); // as a flaky network does: no clean disconnect
    await dropped;
    for (let i = 0; i < sends; i++) {
      const text = `round ${round}: ${i}`;
      const ack = await alice.timeout(3000).emitWithAck("sendMessage", { receiverId: "bob", text });
      assert(ack.ok, `send ${text}: ${JSON.stringify(ack)}`);
    }
    await alice.timeout(3000).emitWithAck("typing", {
      receiverId: "bob",
      isTyping: round % 2 === 1,
    });
    typing.length = 0;
    const back = new Promise((resolve) => bob.once("connect", () => resolve(undefined)));
    bob.connect();
    await back;
    const all = (round + 1) * sends;
    await waitFor(() => received.size === all, `bob receives all ${all} messages`, 10_000);
    await delay(100); // a replay comes with the connect; nothing else is sent to bob
    // bob.recovered is undefined when the server offers no recovery.
    results.push({ recovered: bob.recovered === true, replayed: [...typing] });
  }
  bob.close();
  return results;
}

Deno.test("connection state recovery keeps at most RECOVERY_BUFFER_BYTES of room broadcasts", async (t) => {
  const small = { RECOVERY_BUFFER_BYTES: "20000" };
  await t.step(
    "fewer missed than kept: recovered, the missed broadcast replayed, twice",
    async () => {
      assertEquals(await dropWhileSent(small, 20, 2), [
        { recovered: true, replayed: [false] },
        { recovered: true, replayed: [true] },
      ]);
    },
  );
  await t.step(
    "more missed than kept: a new session, and every message still arrives",
    async () => {
      assertEquals(await dropWhileSent(small, 400), [{ recovered: false, replayed: [] }]);
    },
  );
  await t.step("the same 400 with the default buffer: recovered", async () => {
    assertEquals(await dropWhileSent({}, 400), [{ recovered: true, replayed: [false] }]);
  });
  await t.step("RECOVERY_WINDOW_MS=0: never recovered", async () => {
    assertEquals(await dropWhileSent({ RECOVERY_WINDOW_MS: "0" }, 5), [
      { recovered: false, replayed: [] },
    ]);
  });
});
