/**
 * Groups across a cluster (issue 19): three nodes on one Redis and one MongoDB, a group's
 * members on different nodes. A group message is relayed once for all its members and
 * reaches each member's sockets on every node, once; membership changes, read pointers,
 * typing and catch-up cross the nodes too.
 */
import type { ChatMessage } from "../../src/protocol/types.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { collect, nextEvent, settle, waitFor } from "../helpers/events.ts";
import { acking } from "../helpers/messages.ts";
import { reportSkip, TestCluster } from "./harness.ts";

const skip = reportSkip("cluster group tests");

Deno.test({
  name: "cluster: a group with members on three nodes: messages, changes, reads, typing, catch-up",
  ignore: skip,
  async fn(t) {
    await using cluster = await TestCluster.start(3);
    const [a, b, c] = cluster.nodes.map((n) => n.url) as [string, string, string];
    const alice = await cluster.connect(a, "alice");
    const bob = await cluster.connect(b, "bob");
    const carol = await cluster.connect(c, "carol");
    const carolTab = await cluster.connect(a, "carol");
    const bobGot = acking(bob);
    const carolGot = acking(carol);
    const carolTabGot = acking(carolTab);

    let groupId = "";
    await t.step("createGroup on A: groupUpdated on B and C", async () => {
      const onB = nextEvent(bob, "groupUpdated", undefined, 5000);
      const onC = nextEvent(carol, "groupUpdated", undefined, 5000);
      const ack = await alice.timeout(5000).emitWithAck("createGroup", {
        name: "Spread",
        memberIds: ["bob", "carol", "dave"],
      });
      assert(ack.ok, JSON.stringify(ack));
      groupId = ack.group._id;
      assertEquals((await onB).change, {
        type: "created",
        userIds: ["alice", "bob", "carol", "dave"],
      });
      assertEquals((await onC).group._id, groupId);
    });

    const sent: ChatMessage[] = [];
    await t.step(
      "sendMessage on A: every other member's socket on A, B and C gets it once",
      async () => {
        for (const text of ["one", "two", "three"]) {
          const ack = await alice.timeout(5000).emitWithAck("sendMessage", { groupId, text });
          assert(ack.ok, JSON.stringify(ack));
          sent.push(ack.message);
        }
        const ids = sent.map((m) => m._id);
        await waitFor(
          () => bobGot.length === 3 && carolGot.length === 3 && carolTabGot.length === 3,
          "every member's sockets",
          5000,
        );
        await settle(bob);
        await settle(carol);
        assertEquals(bobGot.map((m) => m._id), ids, "on B, in order, once each");
        assertEquals(carolGot.map((m) => m._id), ids, "on C");
        assertEquals(carolTabGot.map((m) => m._id), ids, "carol's tab on A, beside the sender");
      },
    );

    await t.step("markGroupRead on C: groupRead on A and B; reads from B's REST", async () => {
      const onA = nextEvent(alice, "groupRead", undefined, 5000);
      const onB = nextEvent(bob, "groupRead", undefined, 5000);
      const ack = await carol.timeout(5000).emitWithAck("markGroupRead", {
        groupId,
        messageId: sent[2]!._id,
      });
      assert(ack.ok, JSON.stringify(ack));
      assertEquals((await onA).userId, "carol");
      assertEquals((await onB).messageId, sent[2]!._id);
      const res = await cluster.api(
        b,
        "alice",
        `/api/groups/${groupId}/messages/${sent[0]!._id}/reads`,
      );
      assertEquals(await res.json(), { reads: [{ userId: "carol", readAt: ack.readAt }] });
    });

    await t.step("typing on B reaches the members on A and C", async () => {
      const onA = nextEvent(alice, "userTyping", undefined, 5000);
      const onC = nextEvent(carol, "userTyping", undefined, 5000);
      await bob.timeout(5000).emitWithAck("typing", { groupId, isTyping: true });
      const expected = { userId: "bob", groupId, isTyping: true };
      assertEquals(await onA, expected);
      assertEquals(await onC, expected);
    });

    await t.step("dave, offline meanwhile, catches up on C", async () => {
      const dave = await cluster.connect(c, "dave");
      const daveGot = acking(dave);
      await waitFor(() => daveGot.length === 3, "dave's catch-up", 5000);
      assertEquals(daveGot.map((m) => m.text), ["one", "two", "three"]);
    });

    await t.step("removal on A: bob on B is told and gets nothing more", async () => {
      const told = nextEvent(bob, "groupUpdated", (u) => u.change.type === "memberRemoved", 5000);
      const ack = await alice.timeout(5000).emitWithAck("removeGroupMember", {
        groupId,
        userId: "bob",
      });
      assert(ack.ok, JSON.stringify(ack));
      assertEquals((await told).change.userIds, ["bob"]);
      const later = collect(bob, "receiveMessage");
      const after = await alice.timeout(5000).emitWithAck("sendMessage", { groupId, text: "four" });
      assert(after.ok);
      await waitFor(() => carolGot.length === 4, "carol still gets it", 5000);
      await settle(bob, 300);
      assertEquals(later.stop(), []);
    });
  },
});
