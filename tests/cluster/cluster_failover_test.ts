/**
 * Behind nginx (deploy/nginx.conf): sticky long-polling, and a node killed with -9. Its
 * clients reconnect through the proxy to another node and lose nothing confirmed; its
 * users who do not come back go offline within the stated bound.
 */
import type { ChatMessage } from "../../src/protocol/types.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { collect, nextEvent, settle, waitFor } from "../helpers/events.ts";
import { NGINX, reportSkip, SKIP_REASON, TestCluster, TestProxy } from "./harness.ts";
import { acking } from "../helpers/messages.ts";

const skip = reportSkip("cluster failover tests");
if (!SKIP_REASON && !NGINX) console.warn("SKIPPED: nginx tests (apt-get install -y nginx)");

const NODE_TTL_MS = 1500;
/** README, "Presence across nodes": a dead node's users go offline within 4/3 of the TTL (plus a store write). */
const OFFLINE_BOUND_MS = (NODE_TTL_MS * 4) / 3 + 500;

Deno.test({
  name: "cluster failover: sticky polling through nginx, kill -9 of a node loses nothing confirmed",
  ignore: skip || !NGINX,
  async fn(t) {
    await using cluster = await TestCluster.start(3, { CLUSTER_NODE_TTL_MS: String(NODE_TTL_MS) });
    // Declared after the cluster, so it stops before the nodes behind it.
    await using proxy = await TestProxy.start(cluster.nodes);
    try {
      // ip_hash: every client of this machine reaches the same node through the proxy.
      const targetPort = await proxy.target();
      const doomed = cluster.nodes.find((n) => n.port === targetPort)!;
      assert(doomed, `nginx sent /healthz to port ${targetPort}`);
      const [other1, other2] = cluster.nodes.filter((n) => n !== doomed) as [
        typeof doomed,
        typeof doomed,
      ];

      const bob = await cluster.connect(other1.url, "bob");
      const bobGot = acking(bob);
      const bobSaw = collect(bob, "userOnline");
      let daveOfflineAt: number | undefined;
      bob.on("userOnline", (p) => {
        if (p.userId === "dave" && !p.isOnline) daveOfflineAt ??= Date.now();
      });

      await t.step("a long-polling client through nginx stays on its node and chats", async () => {
        const poller = await cluster.connect(proxy.url, "polly", { transports: ["polling"] });
        // Several polls and posts, each of which must reach the node that holds the session.
        for (let i = 0; i < 5; i++) {
          const ack = await poller.timeout(5000).emitWithAck("sendMessage", {
            receiverId: "bob",
            text: `poll ${i}`,
          });
          assert(ack.ok, JSON.stringify(ack));
        }
        const got = nextEvent(poller, "receiveMessage");
        assert(
          (await bob.timeout(5000).emitWithAck("sendMessage", {
            receiverId: "polly",
            text: "to a poller",
          })).ok,
        );
        assertEquals((await got).text, "to a poller");
        await waitFor(() => bobGot.filter((m) => m.senderId === "polly").length === 5, "polls");
        poller.close();
      });

      // dave is only on the doomed node and will not come back; bob is his partner.
      assert(
        (await bob.timeout(5000).emitWithAck("sendMessage", {
          receiverId: "dave",
          text: "hello dave",
        })).ok,
      );
      await cluster.connect(doomed.url, "dave");
      await waitFor(() => bobSaw.items.some((p) => p.userId === "dave" && p.isOnline), "dave on");

      // alice comes in through nginx, reconnects like a real client.
      const aliceGot: ChatMessage[] = [];
      const alice = await cluster.connect(proxy.url, "alice", {
        reconnect: true,
        setup: (client) => acking(client, aliceGot),
      });
      const confirmedToAlice: string[] = [];
      const confirmedFromAlice: string[] = [];
      for (let i = 0; i < 10; i++) {
        const toAlice = await bob.timeout(5000).emitWithAck("sendMessage", {
          receiverId: "alice",
          text: `b${i}`,
          clientMessageId: `b-${i}`,
        });
        const fromAlice = await alice.timeout(5000).emitWithAck("sendMessage", {
          receiverId: "bob",
          text: `a${i}`,
          clientMessageId: `a-${i}`,
        });
        assert(toAlice.ok && fromAlice.ok);
        confirmedToAlice.push(toAlice.message._id);
        confirmedFromAlice.push(fromAlice.message._id);
      }
      await waitFor(() => aliceGot.length >= 10, "alice's first 10");
      const bobSawBeforeKill = bobSaw.items.length;

      const reconnected = new Promise<void>((resolve) =>
        alice.io.once("reconnect", () => resolve())
      );
      const killedAt = Date.now();
      await cluster.kill(doomed);

      await t.step("messages to alice while her node is gone are stored", async () => {
        for (let i = 10; i < 15; i++) {
          const ack = await bob.timeout(5000).emitWithAck("sendMessage", {
            receiverId: "alice",
            text: `b${i}`,
            clientMessageId: `b-${i}`,
          });
          assert(ack.ok);
          confirmedToAlice.push(ack.message._id);
        }
      });

      await t.step(
        "alice reconnects through nginx to another node and gets everything",
        async () => {
          await reconnected;
          const after = await alice.timeout(5000).emitWithAck("sendMessage", {
            receiverId: "bob",
            text: "back",
            clientMessageId: "a-back",
          });
          assert(after.ok);
          confirmedFromAlice.push(after.message._id);
          await waitFor(
            () => confirmedToAlice.every((id) => aliceGot.some((m) => m._id === id)),
            "every confirmed message reaches alice",
            10_000,
          );
          // The last one before the kill may have died with the node before it was relayed:
          // bob's node catches up when it notices the node is gone (within the bound).
          await waitFor(
            () => confirmedFromAlice.every((id) => bobGot.some((m) => m._id === id)),
            "every confirmed message of alice reaches bob",
            OFFLINE_BOUND_MS + 2000,
          );
          await settle(alice);
          // Each at most once per socket; a message whose acknowledgement died with the node
          // may come again on the new socket (the client drops it by _id).
          const ids = aliceGot.map((m) => m._id);
          assert(
            ids.length - new Set(ids).size <= 1,
            `duplicates: ${ids.length - new Set(ids).size}`,
          );
          assert(await proxy.target() !== doomed.port, "nginx skips the dead node");
        },
      );

      await t.step(
        `dave goes offline within ${OFFLINE_BOUND_MS} ms; alice never does`,
        async () => {
          const isDaveOffline = (p: { userId: string; isOnline: boolean }) =>
            p.userId === "dave" && !p.isOnline;
          await waitFor(
            () => bobSaw.items.some(isDaveOffline),
            "dave's offline",
            OFFLINE_BOUND_MS + 2000,
          );
          const took = daveOfflineAt! - killedAt;
          console.log(`  dave offline ${took} ms after kill -9 (bound ${OFFLINE_BOUND_MS} ms)`);
          assert(took <= OFFLINE_BOUND_MS, `took ${took} ms`);
          const rows: { user: { _id: string; isOnline: boolean } }[] = await (
            await cluster.api(other2.url, "bob", "/api/chats/conversations")
          ).json();
          const state = Object.fromEntries(rows.map((r) => [r.user._id, r.user.isOnline]));
          assertEquals(state.dave, false);
          assertEquals(state.alice, true);
          await settle(bob, 300);
          const later = bobSaw.stop().slice(bobSawBeforeKill);
          assertEquals(later.filter((p) => p.userId === "dave").map((p) => p.isOnline), [false]);
          assertEquals(later.filter((p) => p.userId === "alice"), []);
        },
      );
    } catch (err) {
      console.error(cluster.output());
      throw err;
    }
  },
});
