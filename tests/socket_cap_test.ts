import { loadConfig } from "../src/config.ts";
import { assertEquals } from "./helpers/assert.ts";
import { nextEvent, waitFor } from "./helpers/events.ts";
import { startTestServer } from "./helpers/server.ts";

Deno.test("MAX_SOCKETS_PER_USER: a user's next socket closes their oldest, which is told why", async () => {
  assertEquals(loadConfig({}).limits.socketsPerUser, 20);
  await using server = await startTestServer({ MAX_SOCKETS_PER_USER: "3" });
  const first = await server.connect("alice");
  const told = nextEvent(first, "messageError");
  const closed = new Promise<string>((resolve) => first.once("disconnect", resolve));
  const others = [await server.connect("alice"), await server.connect("alice")];
  const bob = await server.connect("bob");
  assertEquals(first.connected, true, "three sockets are allowed");
  others.push(await server.connect("alice"));

  const error = await told;
  assertEquals(error.code, "FORBIDDEN");
  assertEquals(
    error.error,
    "Too many connections for one user (at most 3): this one, the oldest, was closed",
  );
  assertEquals(await closed, "io server disconnect");
  await waitFor(() => others.every((socket) => socket.connected), "the newer three stay");
  assertEquals(bob.connected, true, "other users are not affected");
  const ack = await others[2]!.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: "still here",
  });
  assertEquals(ack.ok, true);
});
