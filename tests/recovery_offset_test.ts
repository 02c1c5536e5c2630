/**
 * What socket.io-client 4.8 hands to event handlers while connection state recovery is on
 * (the README, "Other languages", says so): every server event sent without an ack carries
 * the recovery offset as an extra last argument, which the client keeps for the next
 * reconnect and still passes on; `receiveMessage` carries its ack callback instead.
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { waitFor } from "./helpers/events.ts";
import { startTestServer } from "./helpers/server.ts";

Deno.test("socket.io-client 4.8 passes the recovery offset to handlers as a second argument", async () => {
  await using server = await startTestServer();
  const alice = await server.connect("alice");
  const aliceTab = await server.connect("alice");
  const bob = await server.connect("bob");
  const seen = new Map<string, unknown[]>();
  for (const event of ["messageSent", "chatHistory"] as const) {
    aliceTab.on(event, (...args: unknown[]) => seen.set(event, args));
  }
  bob.on("receiveMessage", (...args: unknown[]) => {
    seen.set("receiveMessage", args);
    (args[1] as () => void)();
  });
  await alice.emitWithAck("sendMessage", { receiverId: "bob", text: "hi" });
  aliceTab.emit("getChatHistory", { userId1: "alice", userId2: "bob" });
  await waitFor(() => seen.size === 3, "messageSent, chatHistory and receiveMessage");

  for (const event of ["messageSent", "chatHistory"]) {
    const args = seen.get(event)!;
    assertEquals(args.length, 2, `${event}: payload and offset`);
    assert(typeof args[1] === "string" && args[1] !== "", `${event}'s offset: ${args[1]}`);
  }
  const received = seen.get("receiveMessage")!;
  assertEquals([received.length, typeof received[1]], [2, "function"]);
});
