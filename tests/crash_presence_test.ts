/**
 * kill -9 leaves the users who were connected stored online; the next start of
 * the (single) node sets them offline before it accepts connections, so that
 * clients are not told someone is online who is not. Runs on SQLite (a file)
 * and, with TEST_STORE=mongo, on MongoDB.
 */
import type { ChatMessage } from "../src/protocol/types.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { nextEvent } from "./helpers/events.ts";
import { type ChildServer, spawnServer } from "./helpers/child_server.ts";
import {
  type ChatClient,
  connectClient,
  disconnectAll,
  MONGODB_URI,
  signToken,
  TEST_STORE,
} from "./helpers/server.ts";

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
    const dir = await Deno.makeTempDir({ prefix: "parley-crash-presence-" });
    const env: Record<string, string> = TEST_STORE === "mongo"
      ? { MONGODB_URI: MONGODB_URI!, MONGODB_DB: `parley_crash_presence_${Date.now()}` }
      : { SQLITE_PATH: `${dir}/parley.db` };
    let server: ChildServer | undefined;
    let clients: ChatClient[] = [];
    try {
      server = await spawnServer(env);
      const alice = await connectClient(server.url, { token: await signToken("alice") });
      const bob = await connectClient(server.url, { token: await signToken("bob") });
      clients = [alice, bob];
      const ack = await alice.timeout(3000).emitWithAck("sendMessage", {
        receiverId: "bob",
        text: "hi",
      });
      assert(ack.ok, JSON.stringify(ack));
      assertEquals((await partnerOf(server.url, "bob", "alice")).isOnline, true);
      assertEquals((await partnerOf(server.url, "alice", "bob")).isOnline, true);

      const killedAt = Date.now();
      server.process.kill("SIGKILL");
      await server.process.status;
      await disconnectAll(clients);
      clients = [];

      server = await spawnServer(env);
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
    } finally {
      await disconnectAll(clients);
      if (server) {
        try {
          server.process.kill("SIGKILL");
        } catch { /* already gone */ }
        await server.process.status;
      }
      await Deno.remove(dir, { recursive: true });
    }
  },
});
