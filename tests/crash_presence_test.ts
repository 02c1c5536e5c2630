/**
 * kill -9 leaves the users who were connected stored online; the next start of
 * the (single) node sets them offline before it accepts connections, so that
 * clients are not told someone is online who is not. Runs on SQLite (a file)
 * and, with TEST_STORE=mongo, on MongoDB.
 */
import type { ChatMessage } from "../src/protocol/types.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { nextEvent } from "./helpers/events.ts";
import { spawnServer } from "./helpers/child_server.ts";
import { clientList, connectClient, MONGODB_URI, signToken, TEST_STORE } from "./helpers/server.ts";
import { tempDir } from "./helpers/temp_dir.ts";

interface ConversationRow {
  user: { _id: string; isOnline: boolean; lastSeen: string | null };
  lastMessage: ChatMessage | null;
}

async function partnerOf(url: string, userId: string, partnerId: string) {
  const res = await fetch(`${url}/api/chats/conversations`, {
    headers: { authorization: `Bearer ${await signToken(userId)}` },
  });
  assertEquals(res.status, 200);
  const rows = await res.json() as ConversationRow[];
  const row = rows.find((r) => r.user._id === partnerId);
  assert(row, `${userId} has a conversation with ${partnerId}`);
  return row.user;
}

Deno.test({
  name: "kill -9 then restart: users left online are reported offline, and online on reconnect",
  async fn() {
    await using dir = await tempDir("parley-crash-presence-");
    const env: Record<string, string> = TEST_STORE === "mongo"
      ? { MONGODB_URI: MONGODB_URI!, MONGODB_DB: `parley_crash_presence_${Date.now()}` }
      : { SQLITE_PATH: `${dir.path}/parley.db` };
    let killedAt = 0;
    {
      await using crashed = await spawnServer(env);
      await using clients = clientList();
      const alice = await connectClient(crashed.url, { token: await signToken("alice") });
      const bob = await connectClient(crashed.url, { token: await signToken("bob") });
      clients.push(alice, bob);
      const ack = await alice.timeout(3000).emitWithAck("sendMessage", {
        receiverId: "bob",
        text: "hi",
      });
      assert(ack.ok, JSON.stringify(ack));
      assertEquals((await partnerOf(crashed.url, "bob", "alice")).isOnline, true);
      assertEquals((await partnerOf(crashed.url, "alice", "bob")).isOnline, true);

      killedAt = Date.now();
      crashed.process.kill("SIGKILL");
      await crashed.process.status;
    }

    await using server = await spawnServer(env);
    await using clients = clientList();
    const startedBy = Date.now();
    for (const [user, partner] of [["bob", "alice"], ["alice", "bob"]] as const) {
      const seen = await partnerOf(server.url, user, partner);
      assertEquals(seen.isOnline, false, `${partner} is offline after the restart`);
      // Connected until the crash: last seen no earlier than the crash, no later than now.
      const lastSeen = Date.parse(seen.lastSeen ?? "");
      assert(lastSeen >= killedAt - 1 && lastSeen <= startedBy, `lastSeen ${seen.lastSeen}`);
    }

    const bobAgain = await connectClient(server.url, { token: await signToken("bob") });
    clients.push(bobAgain);
    const announced = nextEvent(bobAgain, "userOnline", (p) => p.userId === "alice");
    clients.push(await connectClient(server.url, { token: await signToken("alice") }));
    assertEquals((await announced).isOnline, true);
    assertEquals((await partnerOf(server.url, "bob", "alice")).isOnline, true);
    assertEquals((await partnerOf(server.url, "alice", "bob")).isOnline, true);
  },
});
