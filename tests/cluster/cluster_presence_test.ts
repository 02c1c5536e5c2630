/**
 * Presence across nodes: online once (first socket anywhere), offline once (last socket
 * anywhere, after the grace period), whatever node each tab is on.
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { collect, nextEvent, settle, waitFor } from "../helpers/events.ts";
import { type ChatClient, delay } from "../helpers/server.ts";
import { reportSkip, TestCluster } from "./harness.ts";

const skip = reportSkip("cluster presence tests");
/**
 * Long enough that a reconnect to another node lands inside it on a loaded machine (at 300 ms a
 * connect to node C under CI load came after it, and alice flapped offline and online).
 */
const GRACE_MS = 1000;

Deno.test({
  name: "cluster presence: tabs on different nodes announce online once and offline once",
  ignore: skip,
  async fn(t) {
    await using cluster = await TestCluster.start(3, { PRESENCE_GRACE_MS: String(GRACE_MS) });
    const [a, b, c] = cluster.nodes.map((n) => n.url) as [string, string, string];
    const isOnline = async (userId: string) => {
      const res = await cluster.api(c, "bob", "/api/chats/conversations");
      const rows: { user: { _id: string; isOnline: boolean } }[] = await res.json();
      return rows.find((row) => row.user._id === userId)?.user.isOnline;
    };
    try {
      // alice and bob share a conversation, so bob hears about alice.
      const first = await cluster.connect(a, "alice");
      assert(
        (await first.timeout(5000).emitWithAck("sendMessage", {
          receiverId: "bob",
          text: "hi",
        })).ok,
      );
      first.close();
      await waitFor(async () => (await isOnline("alice")) === false, "alice offline", 5000);

      const bob = await cluster.connect(c, "bob");
      const bobSaw = collect(bob, "userOnline");

      const online = nextEvent(bob, "userOnline", (p) => p.userId === "alice", 5000);
      const tab1 = await cluster.connect(a, "alice");
      await t.step("the first tab (on A) announces online, stored first", async () => {
        assertEquals((await online).isOnline, true);
        assertEquals(await isOnline("alice"), true);
      });

      const tab2 = await cluster.connect(b, "alice");
      await t.step("a second tab on B, closing the first on A: nothing announced", async () => {
        tab1.close();
        await delay(GRACE_MS + 400); // past the grace period
        await settle(bob);
        assertEquals(bobSaw.items.length, 1);
        assertEquals(await isOnline("alice"), true);
      });

      let tab3!: ChatClient;
      await t.step("a reconnect on C within the grace period does not flap", async () => {
        tab2.close();
        await delay(100);
        tab3 = await cluster.connect(c, "alice");
        await delay(GRACE_MS + 400);
        await settle(bob);
        assertEquals(bobSaw.items.length, 1);
      });

      await t.step("the last tab anywhere leaving announces offline once", async () => {
        const offline = nextEvent(bob, "userOnline", (p) => !p.isOnline, 5000);
        const started = Date.now();
        tab3.close();
        const got = await offline;
        assertEquals(got.userId, "alice");
        assert(Date.now() - started < GRACE_MS + 1500, `offline after ${Date.now() - started} ms`);
        assertEquals(await isOnline("alice"), false);
        await delay(500);
        await settle(bob);
        assertEquals(bobSaw.stop().map((p) => p.isOnline), [true, false]);
      });

      await t.step("two tabs closing at once on two nodes: offline once", async () => {
        const saw = collect(bob, "userOnline");
        const x = await cluster.connect(a, "alice");
        const y = await cluster.connect(b, "alice");
        await waitFor(() => saw.items.length === 1, "online");
        x.close();
        y.close();
        await waitFor(() => saw.items.length === 2, "offline", 5000);
        await delay(600);
        await settle(bob);
        assertEquals(saw.stop().map((p) => p.isOnline), [true, false]);
      });

      await t.step(
        "a node shut down with SIGTERM exits 0 and its users go offline at once",
        async () => {
          const saw = collect(bob, "userOnline");
          await cluster.connect(b, "alice");
          await waitFor(() => saw.items.length === 1, "online");
          const node = cluster.nodes[1]!;
          const started = Date.now();
          const status = await node.stop();
          assertEquals(status.code, 0);
          await waitFor(() => saw.items.length === 2, "offline", 5000);
          assert(Date.now() - started < 5000, `took ${Date.now() - started} ms`);
          assertEquals(saw.stop().map((p) => p.isOnline), [true, false]);
        },
      );
    } catch (err) {
      console.error(cluster.output());
      throw err;
    }
  },
});
