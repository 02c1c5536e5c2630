/**
 * Redis killed and started again (empty: the test's Redis keeps nothing on disk) under a
 * running cluster: nodes stay up and keep serving their own sockets, /readyz says 503, and
 * when Redis is back they recover without a restart: what crossed no node meanwhile is
 * caught up, presence and shared rate limits work again.
 */
import type { ChatMessage, PresencePayload } from "../../src/protocol/types.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { collect, nextEvent, settle, waitFor } from "../helpers/events.ts";
import { delay } from "../helpers/server.ts";
import { reportSkip, TestCluster } from "./harness.ts";

const skip = reportSkip("cluster Redis restart tests");

Deno.test({
  name: "cluster: Redis restarted mid-test, the nodes recover without a restart",
  ignore: skip,
  async fn(t) {
    await using cluster = await TestCluster.start(3, {
      RATE_LIMITS: "on",
      RATE_LIMIT_SEND: "100:200",
      RATE_LIMIT_TYPING: "100:200",
      RATE_LIMIT_CONNECT: "1000:1000",
    });
    const [a, b, c] = cluster.nodes.map((n) => n.url) as [string, string, string];
    try {
      const bobGot: ChatMessage[] = [];
      const bob = await cluster.connect(b, "bob", {
        setup: (client) =>
          client.on("receiveMessage", (message, ack) => {
            bobGot.push(message);
            ack();
          }),
      });
      // Partners first, so that bob hears alice come online before the outage.
      assert(
        (await bob.timeout(5000).emitWithAck("sendMessage", {
          receiverId: "alice",
          text: "hi alice",
        })).ok,
      );
      const bobSaw = collect(bob, "userOnline");
      const alice = await cluster.connect(a, "alice");
      await waitFor(() => bobSaw.items.some((p) => p.userId === "alice"), "alice online");
      const send = async (text: string) => {
        const ack = await alice.timeout(8000).emitWithAck("sendMessage", {
          receiverId: "bob",
          text,
          clientMessageId: text,
        });
        assert(ack.ok, JSON.stringify(ack));
        return ack.message;
      };
      const before = await send("before");
      await waitFor(() => bobGot.some((m) => m._id === before._id), "before crosses");

      const sawBeforeOutage = bobSaw.items.length;
      await t.step("Redis down: readyz 503, sends still stored and confirmed", async () => {
        await cluster.redis.kill();
        await cluster.waitReady(503);
        const health = await fetch(`${a}/healthz`, { signal: AbortSignal.timeout(10_000) });
        await health.body?.cancel();
        assertEquals(health.status, 200);
        const during = await send("during");
        assertEquals(during.text, "during");
        // Same-node events keep working: alice's second tab on A hears about her send.
        const tab = await cluster.connect(a, "alice");
        try {
          const sent = nextEvent(tab, "messageSent");
          await send("during, same node");
          assertEquals((await sent).text, "during, same node");
        } finally {
          tab.close();
        }
      });

      await t.step("Redis back: readyz 200, what was missed is caught up, once", async () => {
        await cluster.redis.start();
        await cluster.waitReady(200, 15_000);
        await waitFor(
          () =>
            ["before", "during", "during, same node"].every((text) =>
              bobGot.some((m) => m.text === text)
            ),
          "bob gets the messages stored during the outage, without reconnecting",
          10_000,
        );
        await settle(bob);
        assertEquals(bobGot.map((m) => m.text).sort(), ["before", "during", "during, same node"]);
      });

      await t.step("after recovery every event crosses nodes again", async () => {
        const after = await send("after");
        await waitFor(() => bobGot.some((m) => m._id === after._id), "after crosses");
        const typing = nextEvent(alice, "userTyping");
        assert(
          (await bob.timeout(5000).emitWithAck("typing", {
            receiverId: "alice",
            isTyping: true,
          })).ok,
        );
        assertEquals(await typing, { userId: "bob", isTyping: true });
        const carol = await cluster.connect(c, "carol");
        const toCarol = nextEvent(carol, "receiveMessage");
        assert(
          (await bob.timeout(5000).emitWithAck("sendMessage", {
            receiverId: "carol",
            text: "hi carol",
          })).ok,
        );
        assertEquals((await toCarol).text, "hi carol");
      });

      await t.step("presence works again: alice's last tab leaving is announced once", async () => {
        // Nothing about alice was announced while Redis was away or coming back.
        const aboutAlice = (p: PresencePayload) => p.userId === "alice";
        const since = () => bobSaw.items.slice(sawBeforeOutage).filter(aboutAlice);
        assertEquals(since(), []);
        alice.close();
        await waitFor(() => since().length > 0, "alice offline", 5000);
        await delay(300);
        await settle(bob);
        assertEquals(since().map((p) => p.isOnline), [false]);
        bobSaw.stop();
      });
    } catch (err) {
      console.error(cluster.output());
      throw err;
    }
  },
});
