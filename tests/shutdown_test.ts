import { openSqliteBackend } from "../src/store/sqlite/sqlite_backend.ts";
import { assert, assertEquals, assertRejects } from "./helpers/assert.ts";
import { waitFor } from "./helpers/events.ts";
import { spawnServer } from "./helpers/child_server.ts";
import { clientList, connectClient, signToken, TEST_STORE } from "./helpers/server.ts";
import { tempDir } from "./helpers/temp_dir.ts";

for (const signal of ["SIGTERM", "SIGINT"] as const) {
  Deno.test({
    name:
      `${signal}: in-flight sends finish, connected users go offline, the store closes, exit 0 within 10 s`,
    ignore: TEST_STORE !== "sqlite",
    async fn() {
      await using dir = await tempDir("parley-shutdown-");
      const dbPath = `${dir.path}/parley.db`;
      await using server = await spawnServer({ SQLITE_PATH: dbPath, PRESENCE_GRACE_MS: "1500" });
      await using clients = clientList();
      const alice = await connectClient(server.url, { token: await signToken("alice") });
      const bob = await connectClient(server.url, { token: await signToken("bob") });
      clients.push(alice, bob);
      const acked: string[] = [];
      let sending = true;
      const storm = (async () => {
        for (let i = 0; sending; i++) {
          try {
            const ack = await alice.timeout(5000).emitWithAck("sendMessage", {
              receiverId: "bob",
              text: `m${i}`,
              clientMessageId: `s-${i}`,
            });
            if (ack.ok) acked.push(ack.message._id);
          } catch {
            return;
          }
        }
      })();
      await waitFor(() => acked.length >= 50, "50 acknowledged sends", 10_000);

      const started = Date.now();
      server.process.kill(signal);
      const status = await server.process.status;
      const took = Date.now() - started;
      sending = false;
      await storm;
      assertEquals(status.code, 0, server.output());
      assert(took < 10_000, `exited in ${took} ms`);
      await assertRejects(() => connectClient(server.url, { token: "x" }));

      const backend = await openSqliteBackend(dbPath, { uploadDir: `${dir.path}/uploads` });
      const store = backend.chat;
      try {
        for (const user of ["alice", "bob"]) {
          const record = await store.users.get(user);
          assertEquals(record?.isOnline, false, `${user} is offline`);
          assert(record?.lastSeen && Date.parse(record.lastSeen) >= started - 1000);
        }
        for (const id of acked) {
          assert(await store.messages.get(id), `acknowledged ${id} is stored`);
        }
      } finally {
        await backend.close();
      }
      assert(server.output().includes('"msg":"shutting down"'));
    },
  });
}
