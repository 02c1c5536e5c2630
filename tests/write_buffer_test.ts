/**
 * A socket that connects and then stops reading is disconnected once its
 * write buffer has stayed over MAX_WRITE_BUFFER_BYTES for
 * WRITE_BUFFER_TIMEOUT_MS, and its user still gets every message afterwards;
 * a socket that reads is never dropped, however much it is sent.
 */
import type { ChatMessage } from "../src/protocol/types.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { waitFor } from "./helpers/events.ts";
import { spawnServer } from "./helpers/child_server.ts";
import {
  clientList,
  connectClient,
  delay,
  signToken,
  startTestServer,
  TEST_STORE,
} from "./helpers/server.ts";
import { openStalledSocket } from "./helpers/stalled_socket.ts";
import { rssBytes } from "./helpers/process_memory.ts";
import { tempDir } from "./helpers/temp_dir.ts";

// About 9 MB for bob (15 KB a message): the kernel's socket buffers take about 4 MB from a peer
// that does not read, so most of it stays in this process.
const BACKLOG = 600;
const TEXT = "€".repeat(4990);
/** The hardening probe's backlog: 5,000 undelivered 4 KB messages. */
const PROBE_BACKLOG = 5000;

Deno.test({
  name: "write buffer: a socket that stops reading is dropped; its user loses nothing",
  // The guard does not depend on the store; 600 sends take FerretDB most of a minute.
  ignore: TEST_STORE === "mongo",
}, async () => {
  await using server = await startTestServer({
    MAX_WRITE_BUFFER_BYTES: String(64 * 1024),
    WRITE_BUFFER_TIMEOUT_MS: "1000",
    // The whole backlog in flight at once, so the write buffer is what holds it.
    MAX_UNACKED_PER_SOCKET: String(BACKLOG),
    DELIVERY_ACK_TIMEOUT_MS: "60000",
  });
  using stalled = await openStalledSocket(server.url, await server.token("bob"));
  // Declared last, so bob's new connection closes first.
  await using clients = clientList();
  const alice = await server.connect("alice");
  const sent: string[] = [];
  for (let i = 0; i < BACKLOG; i += 50) {
    const acks = await Promise.all(
      Array.from({ length: 50 }, (_, n) =>
        alice.timeout(30_000).emitWithAck("sendMessage", {
          receiverId: "bob",
          text: `${i + n} ${TEXT}`,
        })),
    );
    for (const ack of acks) sent.push(ack.ok ? ack.message._id : "refused");
  }
  assertEquals(sent.includes("refused"), false, "every send accepted");

  // Not read from until the server has given up on it: reading would drain its buffer.
  await waitFor(
    () => ![...server.parley.io.sockets.sockets.values()].some((s) => s.data.userId === "bob"),
    "bob's stalled socket gone from the server",
    15_000,
  );
  assert(await stalled.closedByServer(5_000), "the server closed the stalled connection");
  assert(alice.connected, "alice, who reads, is still connected");

  // Bob reads again (a new connection): every message, once, in order.
  const got: ChatMessage[] = [];
  const bob = await connectClient(server.url, { token: await server.token("bob") }, {
    setup: (c) =>
      c.on("receiveMessage", (message, ack) => {
        got.push(message);
        ack?.();
      }),
  });
  clients.push(bob);
  await waitFor(() => got.length >= BACKLOG, "bob's backlog", 60_000);
  assertEquals(got.map((m) => m._id), sent);
  assert(bob.connected, "a socket that reads 3 MB quickly is not dropped");
});

Deno.test({
  name: "catch-up: 10 sockets that never read cost a window each, not the 20 MB backlog",
  ignore: TEST_STORE === "mongo", // 5,000 sends; the child process runs on SQLite anyway
  sanitizeResources: false,
  async fn() {
    await using dir = await tempDir("parley-stalled-");
    await using server = await spawnServer({ SQLITE_PATH: `${dir.path}/parley.db` });
    const pid = server.process.pid;
    // Closed first, then the server is killed, then the directory goes.
    using stalled = new DisposableStack();
    const alice = await connectClient(server.url, { token: await signToken("alice") });
    const text = "x".repeat(4096);
    for (let i = 0; i < PROBE_BACKLOG; i += 100) {
      const acks = await Promise.all(
        Array.from({ length: 100 }, (_, n) =>
          alice.timeout(30_000).emitWithAck("sendMessage", {
            receiverId: "bob",
            text: `${i + n} ${text}`,
          })),
      );
      assert(acks.every((ack) => ack.ok), "every send accepted");
    }
    const before = rssBytes(pid);
    for (let i = 0; i < 10; i++) {
      stalled.use(await openStalledSocket(server.url, await signToken("bob")));
    }
    await delay(3000);
    const grown = rssBytes(pid) - before;
    console.log(
      `10 stalled sockets over a ${PROBE_BACKLOG}-message backlog: server RSS ` +
        `+${(grown / 2 ** 20).toFixed(1)} MB`,
    );
    assert(grown < 100 * 2 ** 20, `RSS grew ${(grown / 2 ** 20).toFixed(1)} MB`);

    let got = 0;
    const bob = await connectClient(server.url, { token: await signToken("bob") }, {
      setup: (c) =>
        c.on("receiveMessage", (_message, ack) => {
          got++;
          ack?.();
        }),
    });
    await waitFor(() => got >= PROBE_BACKLOG, "bob's whole backlog once he reads", 60_000);
    bob.close();
    alice.close();
  },
});
