/**
 * Edits, reactions and blocks across nodes: the events reach the other user's
 * sockets on another node, and a block made on one node holds on the others
 * (messages, typing and presence).
 */
import { assert, assertEquals } from "../helpers/assert.ts";
import { collect, nextEvent, settle } from "../helpers/events.ts";
import { delay } from "../helpers/server.ts";
import { reportSkip, TestCluster } from "./harness.ts";

const skip = reportSkip("cluster edit, reaction and block tests");

Deno.test({
  name: "cluster: an edit, a reaction and a block made on one node reach and hold on the other",
  ignore: skip,
  async fn(t) {
    await using cluster = await TestCluster.start(2, { PRESENCE_GRACE_MS: "100" });
    const [a, b] = cluster.nodes.map((n) => n.url) as [string, string];
    try {
      const alice = await cluster.connect(a, "alice");
      let bob = await cluster.connect(b, "bob");
      const sent = await alice.timeout(5000).emitWithAck("sendMessage", {
        receiverId: "bob",
        text: "see you at 5",
      });
      assert(sent.ok, JSON.stringify(sent));
      const messageId = sent.message._id;

      await t.step("an edit on A reaches bob on B", async () => {
        const heard = nextEvent(bob, "messageEdited", () => true, 5000);
        const ack = await alice.timeout(5000).emitWithAck("editMessage", {
          messageId,
          text: "see you at 6",
        });
        assert(ack.ok, JSON.stringify(ack));
        assertEquals(await heard, {
          messageId,
          text: "see you at 6",
          editedAt: ack.message.editedAt,
        });
      });

      await t.step("a reaction on B reaches alice on A", async () => {
        const heard = nextEvent(alice, "messageReaction", () => true, 5000);
        const ack = await bob.timeout(5000).emitWithAck("addReaction", { messageId, emoji: "👌" });
        assert(ack.ok, JSON.stringify(ack));
        assertEquals(await heard, { messageId, userId: "bob", emoji: "👌", added: true });
      });

      await t.step(
        "a block on A: bob on B can send nothing, and is told alice went offline",
        async () => {
          const bobHearsOffline = nextEvent(
            bob,
            "userOnline",
            (p) => p.userId === "alice" && !p.isOnline,
            5000,
          );
          const blocked = await alice.timeout(5000).emitWithAck("blockUser", { userId: "bob" });
          assert(blocked.ok, JSON.stringify(blocked));
          await bobHearsOffline;

          const aliceTyping = collect(alice, "userTyping");
          const refused = await bob.timeout(5000).emitWithAck("sendMessage", {
            receiverId: "alice",
            text: "why?",
          });
          assertEquals([refused.ok, refused.code], [false, "FORBIDDEN"]);
          const typing = await bob.timeout(5000).emitWithAck("typing", {
            receiverId: "alice",
            isTyping: true,
          });
          assertEquals([typing.ok, typing.code], [false, "FORBIDDEN"]);
          await settle(alice);
          assertEquals(aliceTyping.stop(), []);
          const history = await (await cluster.api(a, "alice", "/api/chats/history/bob")).json();
          assertEquals(history.length, 1, "nothing stored");
        },
      );

      await t.step("bob leaving and coming back on B is not announced to alice on A", async () => {
        const aliceHears = collect(alice, "userOnline");
        bob.close();
        await delay(400); // past the grace period
        bob = await cluster.connect(b, "bob");
        await delay(300);
        await settle(alice);
        assertEquals(aliceHears.stop(), []);
        const rows = await (await cluster.api(a, "alice", "/api/chats/conversations")).json();
        assertEquals(rows[0].user.isOnline, false, "bob shows offline to alice");
      });

      await t.step("unblocked on A: bob's message from B reaches alice again", async () => {
        await alice.timeout(5000).emitWithAck("unblockUser", { userId: "bob" });
        const received = new Promise<string>((resolve) =>
          alice.once("receiveMessage", (message, ack) => {
            ack();
            resolve(message.text ?? "");
          })
        );
        const ack = await bob.timeout(5000).emitWithAck("sendMessage", {
          receiverId: "alice",
          text: "sorry",
        });
        assert(ack.ok, JSON.stringify(ack));
        assertEquals(await received, "sorry");
      });
    } catch (err) {
      console.error(cluster.output());
      throw err;
    }
  },
});
