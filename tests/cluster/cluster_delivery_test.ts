/**
 * Every event of the contract crosses nodes: three nodes on one Redis and one MongoDB,
 * the users' tabs spread over them.
 */
import type { ChatMessage } from "../../src/protocol/types.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { collect, nextEvent, settle, waitFor } from "../helpers/events.ts";
import type { ChatClient } from "../helpers/server.ts";
import { reportSkip, TestCluster } from "./harness.ts";
import { acking } from "../helpers/messages.ts";

const skip = reportSkip("cluster delivery tests");

Deno.test({
  name: "cluster: every event reaches every tab of its users, whichever node they are on",
  ignore: skip,
  async fn(t) {
    await using cluster = await TestCluster.start(3);
    const [a, b, c] = cluster.nodes.map((n) => n.url) as [string, string, string];
    try {
      const alice1 = await cluster.connect(a, "alice");
      const alice2 = await cluster.connect(b, "alice");
      const bob1 = await cluster.connect(b, "bob");
      const bob2 = await cluster.connect(c, "bob");
      const bob1Got = acking(bob1);
      const bob2Got: ChatMessage[] = [];
      // bob's second tab does not acknowledge: the first tab's receipt is the one that counts.
      bob2.on("receiveMessage", (message) => bob2Got.push(message));

      let message!: ChatMessage;
      await t.step(
        "sendMessage on A: its ack on A, messageSent to alice's tab on B, receiveMessage to bob's on B and C",
        async () => {
          // alice1 sends with an ack: that is its copy; its other tab, on B, gets messageSent.
          const echoA = collect(alice1, "messageSent");
          const sentB = nextEvent(alice2, "messageSent");
          const delivered = nextEvent(alice2, "messageDelivered");
          const ack = await alice1.timeout(5000).emitWithAck("sendMessage", {
            receiverId: "bob",
            text: "across the cluster",
            clientMessageId: "x-1",
          });
          assert(ack.ok, JSON.stringify(ack));
          message = ack.message;
          assertEquals((await sentB)._id, message._id);
          await waitFor(() => bob1Got.length === 1 && bob2Got.length === 1, "both bob tabs get it");
          assertEquals(bob1Got[0]!._id, message._id);
          assertEquals(bob2Got[0]!._id, message._id);
          // bob's tab on B acknowledged: the receipt reaches alice's tab on B (and on A).
          const receipt = await delivered;
          assertEquals(receipt.messageId, message._id);
          assertEquals(receipt.receiverId, "bob");
          await settle(alice1);
          assertEquals(echoA.stop(), []);
        },
      );

      await t.step(
        "a resend with the same client id on C is a duplicate, delivered to no one",
        async () => {
          const alice3 = await cluster.connect(c, "alice");
          const repeat = await alice3.timeout(5000).emitWithAck("sendMessage", {
            receiverId: "bob",
            text: "again",
            clientMessageId: "x-1",
          });
          assert(repeat.ok && repeat.duplicate === true, JSON.stringify(repeat));
          assertEquals(repeat.message._id, message._id);
          await settle(bob1);
          await settle(bob2);
          assertEquals(bob1Got.length, 1);
          assertEquals(bob2Got.length, 1);
          alice3.close();
        },
      );

      await t.step("typing from C reaches alice's tabs on A and B", async () => {
        const onA = nextEvent(alice1, "userTyping");
        const onB = nextEvent(alice2, "userTyping");
        const ack = await bob2.timeout(5000).emitWithAck("typing", {
          receiverId: "alice",
          isTyping: true,
        });
        assert(ack.ok);
        assertEquals(await onA, { userId: "bob", isTyping: true });
        assertEquals(await onB, { userId: "bob", isTyping: true });
      });

      await t.step(
        "messageRead on B reaches alice on A and B and bob's other tab on C",
        async () => {
          const onA = nextEvent(alice1, "messageRead");
          const onB = nextEvent(alice2, "messageRead");
          const onC = nextEvent(bob2, "messageRead");
          const ack = await bob1.timeout(5000).emitWithAck("messageRead", {
            messageId: message._id,
          });
          assert(ack.ok, JSON.stringify(ack));
          for (const receipt of [await onA, await onB, await onC]) {
            assertEquals(receipt.messageId, message._id);
            assertEquals(receipt.readerId, "bob");
          }
        },
      );

      await t.step("a delete by REST on C reaches both users' tabs on A, B and C", async () => {
        const seen = [alice1, alice2, bob1, bob2].map((client) =>
          nextEvent(client, "messageDeleted")
        );
        const res = await cluster.api(c, "alice", `/api/chats/${message._id}`, {
          method: "DELETE",
        });
        assertEquals(res.status, 200, await res.text());
        for (const deleted of await Promise.all(seen)) {
          assertEquals(deleted.messageId, message._id);
        }
      });

      await t.step("a user offline everywhere catches up on connect, on any node", async () => {
        const sent = await alice2.timeout(5000).emitWithAck("sendMessage", {
          receiverId: "carol",
          text: "while you were away",
        });
        assert(sent.ok);
        const delivered = nextEvent(alice1, "messageDelivered");
        const carolGot: ChatMessage[] = [];
        await cluster.connect(c, "carol", {
          setup: (client) =>
            client.on("receiveMessage", (m, ack) => {
              carolGot.push(m);
              ack();
            }),
        });
        await waitFor(() => carolGot.length === 1, "carol's catch-up");
        assertEquals(carolGot[0]!._id, sent.message._id);
        assertEquals((await delivered).messageId, sent.message._id);
      });

      await t.step(
        "60 messages from three nodes: each of two tabs gets each exactly once",
        async () => {
          const senders = [
            await cluster.connect(a, "dave"),
            await cluster.connect(b, "dave"),
            await cluster.connect(c, "dave"),
          ];
          const erinTabs = [await cluster.connect(a, "erin"), await cluster.connect(c, "erin")];
          const got = erinTabs.map((tab) => acking(tab));
          const acks = await Promise.all(
            Array.from(
              { length: 60 },
              (_, i) =>
                senders[i % 3]!.timeout(5000).emitWithAck("sendMessage", {
                  receiverId: "erin",
                  text: `m${i}`,
                  clientMessageId: `d-${i}`,
                }),
            ),
          );
          assert(acks.every((ack) => ack.ok));
          await waitFor(() => got.every((g) => g.length >= 60), "erin's tabs get all 60", 10_000);
          for (const tab of erinTabs) await settle(tab);
          for (const g of got) {
            assertEquals(g.length, 60);
            assertEquals(new Set(g.map((m) => m._id)).size, 60);
          }
        },
      );
    } catch (err) {
      console.error(cluster.output());
      throw err;
    }
  },
});

Deno.test({
  name: "cluster: a user's rate limit holds across nodes",
  ignore: skip,
  async fn() {
    await using cluster = await TestCluster.start(2, {
      RATE_LIMITS: "on",
      RATE_LIMIT_TYPING: "0.1:3",
      RATE_LIMIT_CONNECT: "1000:1000",
    });
    const [a, b] = cluster.nodes.map((n) => n.url) as [string, string];
    const onA = await cluster.connect(a, "frank");
    const onB = await cluster.connect(b, "frank");
    const typing = (client: ChatClient) =>
      client.timeout(5000).emitWithAck("typing", { receiverId: "gina", isTyping: true });
    assert((await typing(onA)).ok);
    assert((await typing(onB)).ok);
    assert((await typing(onA)).ok);
    const refused = await typing(onB);
    assert(!refused.ok, "the fourth, on the other node, is over the burst of 3");
    assertEquals(refused.code, "RATE_LIMITED");
    assert((refused.retryAfterMs ?? 0) > 0);
    const errors = collect(onA, "messageError");
    assertEquals((await typing(onA)).ok, false);
    errors.stop();
  },
});
