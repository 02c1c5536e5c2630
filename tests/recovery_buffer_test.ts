/**
 * Connection state recovery replays what a dropped connection missed only while the room
 * broadcasts it missed are still kept: at most RECOVERY_MAX_PACKETS of them (so a busy node's
 * memory does not grow with its traffic). A connection that missed more starts a new session
 * and still gets every message, from the store; with RECOVERY_WINDOW_MS=0 none is recovered.
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { nextEvent, waitFor } from "./helpers/events.ts";
import { type ChatClient, startTestServer } from "./helpers/server.ts";

/** Bob drops his connection, alice sends him `sends` messages (each a room broadcast of `messageSent` to her room), bob comes back. */
async function dropWhileSent(env: Record<string, string>, sends: number) {
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
  // An offset to resume from: the last room broadcast bob saw.
  const typing = nextEvent(bob, "userTyping");
  alice.emit("typing", { receiverId: "bob", isTyping: true });
  await typing;

  const dropped = new Promise((resolve) => bob.once("disconnect", resolve));
  bob.io.engine.close(); // as a flaky network does: no clean disconnect
  await dropped;
  for (let i = 0; i < sends; i++) {
    const ack = await alice.timeout(3000).emitWithAck("sendMessage", {
      receiverId: "bob",
      text: `while away ${i}`,
    });
    assert(ack.ok, `send ${i}: ${JSON.stringify(ack)}`);
  }
  const back = new Promise((resolve) => bob.once("connect", () => resolve(undefined)));
  bob.connect();
  await back;
  await waitFor(() => received.size === sends, `bob receives all ${sends} messages`, 10_000);
  const recovered = bob.recovered === true; // undefined when the server offers no recovery
  bob.close();
  return recovered;
}

Deno.test("connection state recovery keeps at most RECOVERY_MAX_PACKETS room broadcasts", async (t) => {
  await t.step("fewer missed than kept: recovered, and every message arrives", async () => {
    assertEquals(await dropWhileSent({ RECOVERY_MAX_PACKETS: "100" }, 20), true);
  });
  await t.step(
    "more missed than kept: a new session, and every message still arrives",
    async () => {
      assertEquals(await dropWhileSent({ RECOVERY_MAX_PACKETS: "100" }, 400), false);
    },
  );
  await t.step("the same 400 with the default bound: recovered", async () => {
    assertEquals(await dropWhileSent({}, 400), true);
  });
  await t.step("RECOVERY_WINDOW_MS=0: never recovered", async () => {
    assertEquals(await dropWhileSent({ RECOVERY_WINDOW_MS: "0" }, 5), false);
  });
});
