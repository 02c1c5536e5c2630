/**
 * A receiver with a backlog that does not read: each of its sockets is sent
 * at most MAX_UNACKED_PER_SOCKET messages until it acknowledges some, not the
 * whole backlog; once it reads, it gets everything, once, oldest first.
 */
import type { ChatMessage } from "../src/protocol/types.ts";
import { assertEquals } from "./helpers/assert.ts";
import { waitFor } from "./helpers/events.ts";
import { clientList, connectClient, delay, startTestServer } from "./helpers/server.ts";

// More than two catch-up pages (200 each); small enough for FerretDB in the MongoDB run.
const BACKLOG = 450;
const WINDOW = 50;

Deno.test("flow control: a socket that does not acknowledge holds at most MAX_UNACKED_PER_SOCKET", async () => {
  await using server = await startTestServer({
    MAX_UNACKED_PER_SOCKET: String(WINDOW),
    DELIVERY_ACK_TIMEOUT_MS: "60000",
  });
  await using clients = clientList();
  const alice = await server.connect("alice");
  const text = "x".repeat(1024);
  for (let i = 0; i < BACKLOG; i += 100) {
    await Promise.all(
      Array.from(
        { length: Math.min(100, BACKLOG - i) },
        (_, n) =>
          alice.timeout(30_000).emitWithAck("sendMessage", {
            receiverId: "bob",
            text: `${i + n} ${text}`,
          }),
      ),
    );
  }

  // Three sockets of bob that receive and never acknowledge.
  const silent = Array.from({ length: 3 }, () => ({ got: 0 }));
  for (const tally of silent) {
    clients.push(
      await connectClient(server.url, { token: await server.token("bob") }, {
        setup: (c) => c.on("receiveMessage", () => void tally.got++),
      }),
    );
  }
  await waitFor(() => silent.every((t) => t.got === WINDOW), "each silent socket's window");
  await delay(300);
  assertEquals(silent.map((t) => t.got), [WINDOW, WINDOW, WINDOW], "no more than the window");

  // A socket that reads gets the whole backlog, each message once, in order; and a live one.
  const got: ChatMessage[] = [];
  clients.push(
    await connectClient(server.url, { token: await server.token("bob") }, {
      setup: (c) =>
        c.on("receiveMessage", (message, ack) => {
          got.push(message);
          ack?.();
        }),
    }),
  );
  await waitFor(() => got.length >= BACKLOG, "the backlog", 60_000);
  const live = await alice.timeout(30_000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: "live",
  });
  await waitFor(() => got.length === BACKLOG + 1, "the live message", 30_000);
  assertEquals(got.map((m) => Number(m.text!.split(" ")[0])).slice(0, BACKLOG), [
    ...Array(BACKLOG).keys(),
  ]);
  assertEquals(got.at(-1)!._id, live.ok ? live.message._id : "");
});
