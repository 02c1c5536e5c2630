import { assert, assertEquals } from "./helpers/assert.ts";
import { startTestServer, TEST_STORE } from "./helpers/server.ts";
import { tempDir } from "./helpers/temp_dir.ts";

Deno.test({
  name: "messages, read receipts and deletes survive a restart on the same SQLite file",
  ignore: TEST_STORE !== "sqlite",
  async fn() {
    await using dir = await tempDir("parley-");
    const env = { SQLITE_PATH: `${dir.path}/parley.db` };
    // The first server shuts down cleanly at the end of this block; the second opens the file again.
    {
      await using server = await startTestServer(env);
      const alice = await server.connect("alice");
      const bob = await server.connect("bob");
      const ids: string[] = [];
      for (const text of ["one", "two", "three"]) {
        const ack = await alice.timeout(3000).emitWithAck("sendMessage", {
          receiverId: "bob",
          text,
        });
        assert(ack.ok);
        ids.push(ack.message._id);
      }
      assert((await bob.timeout(3000).emitWithAck("messageRead", { messageId: ids[0]! })).ok);
      assertEquals(
        (await server.api("alice", `/api/chats/${ids[1]}`, { method: "DELETE" })).status,
        200,
      );
    }

    await using server = await startTestServer(env);
    const history = await (await server.api("bob", "/api/chats/history/alice")).json();
    assertEquals(history.map((m: { text: string }) => m.text), ["one", "three"]);
    assert(history[0].readAt, "read receipt persisted");
    const rows = await (await server.api("bob", "/api/chats/conversations")).json();
    assertEquals(rows[0].unreadCount, 1);
    assertEquals(rows[0].user.isOnline, false, "users are offline after a clean shutdown");
    assert(rows[0].user.lastSeen);
    const reader = await server.connect("bob");
    const ack = await reader.timeout(3000).emitWithAck("getChatHistory", {
      userId1: "bob",
      userId2: "alice",
    });
    assert(ack.ok);
    assertEquals(ack.messages.length, 2);
  },
});
