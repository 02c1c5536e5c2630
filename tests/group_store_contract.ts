/**
 * The group contract (src/store/group_store.ts), run against every backend
 * (sqlite_store_test.ts, mongo_store_test.ts). A backend passes when it
 * behaves identically here.
 */
import { AppError } from "../src/errors.ts";
import type { ChatStore } from "../src/store/repository.ts";
import { quoteOf } from "../src/store/repository.ts";
import type { NewGroupMessage } from "../src/store/group_store.ts";
import { backendTests, type OpenBackend } from "./store_contract.ts";
import { assert, assertEquals } from "./helpers/assert.ts";

const T0 = "2026-01-01T00:00:00.000Z";
const T1 = "2026-01-01T00:01:00.000Z";
const T2 = "2026-01-01T00:02:00.000Z";
const page = (limit = 50, skip = 0) => ({ limit, skip });

function post(
  groupId: string,
  senderId: string,
  text: string,
  clientMessageId: string | null = null,
): NewGroupMessage {
  return { groupId, senderId, text, file: null, clientMessageId };
}

/** The code of the AppError `fn` rejects with. */
async function refusalOf(fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn();
  } catch (err) {
    if (err instanceof AppError) return err.code;
    throw err;
  }
  throw new Error("expected a refusal");
}

/** A group of `memberIds` (in that order), owned by the first of them. */
function groupOf(store: ChatStore, memberIds: string[], name = "G", createdAt = T0) {
  return store.groups.createGroup({ name, ownerId: memberIds[0]!, memberIds, createdAt });
}

/** A millisecond apart: list order by time is then unambiguous. */
const tick = () => new Promise((resolve) => setTimeout(resolve, 3));

export function groupStoreContract(
  name: string,
  open: OpenBackend,
  options: { ignore?: boolean } = {},
) {
  const test = backendTests(`${name}: groups `, open, (backend) => backend.chat, options);

  test("createGroup() stores the group, owner first when missing, repeats dropped; get() answers it", async (store) => {
    const group = await store.groups.createGroup({
      name: "Team",
      ownerId: "o",
      memberIds: ["a", "b", "a"],
      createdAt: T0,
    });
    assertEquals(typeof group._id, "string");
    assertEquals(
      { ...group, _id: "" },
      {
        _id: "",
        name: "Team",
        ownerId: "o",
        memberIds: ["o", "a", "b"],
        createdAt: T0,
        updatedAt: T0,
      },
    );
    assertEquals(await store.groups.get(group._id), group);
    const kept = await store.groups.createGroup({
      name: "Order 17",
      ownerId: "b",
      memberIds: ["a", "b"],
      createdAt: T0,
    });
    assertEquals(kept.memberIds, ["a", "b"]);
    assertEquals(await store.groups.get("000000000000000000000000"), null);
    assertEquals(await store.groups.get("not-an-id"), null);
  });

  test("addMembers() adds newcomers after the members, in order, and answers who was added", async (store) => {
    const g = await groupOf(store, ["o", "a"]);
    const added = await store.groups.addMembers(g._id, ["c", "a", "b", "c"], T1);
    assert(added.ok);
    assertEquals(added.added, ["c", "b"]);
    assertEquals(added.group.memberIds, ["o", "a", "c", "b"]);
    assertEquals(added.group.updatedAt, T1);
    assertEquals(await store.groups.get(g._id), added.group);

    const none = await store.groups.addMembers(g._id, ["a"], T2);
    assert(none.ok);
    assertEquals(none.added, []);
    assertEquals(none.group.updatedAt, T1);

    assertEquals(await store.groups.addMembers(g._id, ["d", "e"], T2, { maxMembers: 5 }), {
      ok: false,
      reason: "too_many_members",
    });
    assertEquals((await store.groups.get(g._id))!.memberIds, ["o", "a", "c", "b"]);
    const fits = await store.groups.addMembers(g._id, ["d"], T2, { maxMembers: 5 });
    assert(fits.ok && fits.group.memberIds.length === 5);
    assertEquals(await store.groups.addMembers("000000000000000000000000", ["x"], T2), {
      ok: false,
      reason: "not_found",
    });
  });

  test("removeMember() takes a member out; an owner who leaves hands over to the earliest joined", async (store) => {
    const g = await groupOf(store, ["o", "a", "b"]);
    await store.groups.addMembers(g._id, ["c"], T0);

    const gone = await store.groups.removeMember(g._id, "b", T1);
    assertEquals(gone?.removed, true);
    assertEquals(gone?.group.memberIds, ["o", "a", "c"]);
    assertEquals(gone?.group.ownerId, "o");
    assertEquals(gone?.group.updatedAt, T1);
    assertEquals((await store.groups.removeMember(g._id, "b", T2))?.removed, false);

    // Joined together with the owner: the first in memberIds after the owner.
    const handed = await store.groups.removeMember(g._id, "o", T2);
    assertEquals(handed?.group.ownerId, "a");
    assertEquals(handed?.group.memberIds, ["a", "c"]);
    assertEquals((await store.groups.get(g._id))?.ownerId, "a");
    // The owner rejoining joins last: the next handover skips them.
    await store.groups.addMembers(g._id, ["o"], T2);
    assertEquals((await store.groups.removeMember(g._id, "a", T2))?.group.ownerId, "c");
    assertEquals((await store.groups.removeMember(g._id, "c", T2))?.group.ownerId, "o");
    const empty = await store.groups.removeMember(g._id, "o", T2);
    assertEquals([empty?.group.memberIds, empty?.group.ownerId], [[], "o"]);
    assertEquals(await store.groups.removeMember("000000000000000000000000", "o", T2), null);
  });

  test("concurrent membership changes: the owner's successor is a member, the size limit holds", async (store) => {
    const g = await groupOf(store, ["o", "a", "b", "c"]);
    // Whichever lands first, a leaves with or after the ownership: b owns what remains.
    await Promise.all([
      store.groups.removeMember(g._id, "o", T1),
      store.groups.removeMember(g._id, "a", T1),
    ]);
    const after = await store.groups.get(g._id);
    assertEquals([after?.memberIds, after?.ownerId], [["b", "c"], "b"]);

    const adds = await Promise.all(
      [["d", "e"], ["f", "g"], ["h", "i"]].map((ids) =>
        store.groups.addMembers(g._id, ids, T2, { maxMembers: 6 })
      ),
    );
    assertEquals(adds.filter((r) => r.ok).length, 2);
    assertEquals(adds.filter((r) => !r.ok).map((r) => !r.ok && r.reason), ["too_many_members"]);
    assertEquals((await store.groups.get(g._id))?.memberIds.length, 6);
  });

  test("rename() changes the name and updatedAt", async (store) => {
    const g = await groupOf(store, ["o", "a"]);
    const renamed = await store.groups.rename(g._id, "Family", T1);
    assertEquals(renamed, { ...g, name: "Family", updatedAt: T1 });
    assertEquals(await store.groups.get(g._id), renamed);
    assertEquals(await store.groups.rename("000000000000000000000000", "X", T1), null);
  });

  test("groupsOf() lists a user's groups, most recently changed first; isMember() follows membership", async (store) => {
    const first = await groupOf(store, ["o", "a"], "1");
    const second = await groupOf(store, ["a", "b"], "2", T1);
    assertEquals((await store.groups.groupsOf("a")).map((g) => g.name), ["2", "1"]);
    await store.groups.rename(first._id, "1b", T2);
    assertEquals((await store.groups.groupsOf("a")).map((g) => g.name), ["1b", "2"]);
    assertEquals((await store.groups.groupsOf("b")).map((g) => g._id), [second._id]);
    assertEquals(await store.groups.groupsOf("nobody"), []);
    assertEquals(await store.groups.isMember(first._id, "o"), true);
    assertEquals(await store.groups.isMember(first._id, "b"), false);
    await store.groups.removeMember(first._id, "a", T2);
    assertEquals(await store.groups.isMember(first._id, "a"), false);
    assertEquals((await store.groups.groupsOf("a")).map((g) => g._id), [second._id]);
    assertEquals(await store.groups.isMember("000000000000000000000000", "a"), false);
  });

  test("insertMessage() stores one message with groupId and receiverId null; 1:1 messages carry groupId null", async (store) => {
    const g = await groupOf(store, ["o", "a", "b"]);
    const { message, duplicate } = await store.groups.insertMessage(post(g._id, "a", "hello all"));
    assertEquals(duplicate, false);
    assertEquals([message.groupId, message.receiverId, message.senderId], [g._id, null, "a"]);
    assertEquals([message.deliveredAt, message.readAt, message.reactions], [null, null, []]);
    assertEquals(await store.messages.get(message._id), message);
    const direct = await store.messages.insert({
      senderId: "a",
      receiverId: "b",
      text: "just us",
      file: null,
      clientMessageId: null,
    });
    assertEquals(direct.message.groupId, null);
    assertEquals((await store.messages.get(direct.message._id))?.groupId, null);
    // The group message is in no 1:1 conversation.
    assertEquals((await store.messages.history("a", "b", page())).map((m) => m.text), ["just us"]);
    assertEquals((await store.messages.conversations("b", page())).map((c) => c.partnerId), ["a"]);
  });

  test("insertMessage() refuses non-members and unknown groups; a resend answers the original", async (store) => {
    const g = await groupOf(store, ["o", "a"]);
    assertEquals(
      await refusalOf(() => store.groups.insertMessage(post(g._id, "x", "let me in"))),
      "FORBIDDEN",
    );
    assertEquals(
      await refusalOf(() =>
        store.groups.insertMessage(post("000000000000000000000000", "a", "hi"))
      ),
      "NOT_FOUND",
    );

    const first = await store.groups.insertMessage(post(g._id, "a", "once", "c-1"));
    const again = await store.groups.insertMessage(post(g._id, "a", "once", "c-1"));
    assertEquals(again, { message: first.message, duplicate: true });
    assertEquals((await store.groups.history(g._id, page())).length, 1);
    await store.messages.delete(first.message._id);
    assertEquals(
      await refusalOf(() => store.groups.insertMessage(post(g._id, "a", "once", "c-1"))),
      "DELETED",
    );

    // A removed member can send no more.
    await store.groups.removeMember(g._id, "a", T1);
    assertEquals(
      await refusalOf(() => store.groups.insertMessage(post(g._id, "a", "still here?"))),
      "FORBIDDEN",
    );
  });

  test("insertMessage() with replyTo quotes a message of the same group only", async (store) => {
    const g = await groupOf(store, ["o", "a"]);
    const other = await groupOf(store, ["o", "a"], "H");
    const quoted = (await store.groups.insertMessage(post(g._id, "o", "lunch?"))).message;
    const reply = await store.groups.insertMessage({
      ...post(g._id, "a", "yes"),
      replyTo: quoteOf(quoted),
    });
    assertEquals(reply.message.replyTo, quoteOf(quoted));
    assertEquals(
      await refusalOf(() =>
        store.groups.insertMessage({ ...post(other._id, "a", "yes"), replyTo: quoteOf(quoted) })
      ),
      "VALIDATION_ERROR",
    );
  });

  test("history() pages like 1:1 history (limit, skip, before), oldest first, without hidden ones for the viewer", async (store) => {
    const g = await groupOf(store, ["o", "a", "b"]);
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      ids.push(
        (await store.groups.insertMessage(post(g._id, ["o", "a", "b"][i % 3]!, `m${i}`))).message
          ._id,
      );
    }
    const texts = async (query: Parameters<ChatStore["groups"]["history"]>[1]) =>
      (await store.groups.history(g._id, query)).map((m) => m.text);
    assertEquals(await texts(page(3)), ["m3", "m4", "m5"]);
    assertEquals(await texts(page(3, 3)), ["m0", "m1", "m2"]);
    assertEquals(await texts({ limit: 2, skip: 0, before: ids[3] }), ["m1", "m2"]);
    const hidden = await store.messages.hideForUser(ids[4]!, "b");
    assert(hidden.ok && hidden.changed);
    assertEquals(await texts({ ...page(3), viewerId: "b" }), ["m2", "m3", "m5"]);
    assertEquals(await texts({ ...page(3), viewerId: "a" }), ["m3", "m4", "m5"]);
    assertEquals(await store.groups.history("000000000000000000000000", page()), []);
  });

  test("members react to and hide group messages; others may not", async (store) => {
    const g = await groupOf(store, ["o", "a", "b"]);
    const m = (await store.groups.insertMessage(post(g._id, "a", "vote"))).message;
    const reacted = await store.messages.addReaction(m._id, "b", "👍");
    assert(reacted.ok && reacted.changed);
    assertEquals(reacted.message.reactions, [{ emoji: "👍", userIds: ["b"] }]);
    assertEquals(await store.messages.addReaction(m._id, "x", "👍"), {
      ok: false,
      reason: "not_participant",
    });
    assertEquals(await store.messages.hideForUser(m._id, "x"), {
      ok: false,
      reason: "not_participant",
    });
  });

  test("conversations() mixes groups and 1:1 rows, most recent first, with per-member unread counts", async (store) => {
    const g = await groupOf(store, ["o", "a", "b"]);
    const empty = await groupOf(store, ["b", "o"], "Quiet");
    await store.messages.insert({
      senderId: "a",
      receiverId: "o",
      text: "psst",
      file: null,
      clientMessageId: null,
    });
    await tick();
    await store.groups.insertMessage(post(g._id, "a", "one"));
    await tick();
    const last = (await store.groups.insertMessage(post(g._id, "b", "two"))).message;

    const rows = await store.groups.conversations("o", page());
    assertEquals(rows.map((r) => r.kind === "group" ? r.group.name : r.partnerId), [
      "G",
      "a",
      "Quiet",
    ]);
    const [groupRow, directRow, emptyRow] = rows;
    assert(
      groupRow?.kind === "group" && directRow?.kind === "direct" && emptyRow?.kind === "group",
    );
    assertEquals([groupRow.lastMessage, groupRow.unreadCount, groupRow.muted], [last, 2, false]);
    assertEquals(groupRow.group, await store.groups.get(g._id));
    // A 1:1 row keeps its shape.
    assertEquals(
      { ...directRow, lastMessage: directRow.lastMessage?.text },
      {
        kind: "direct",
        partnerId: "a",
        lastMessage: "psst",
        unreadCount: 1,
        muted: false,
        mutedUntil: null,
      },
    );
    assertEquals([emptyRow.group._id, emptyRow.lastMessage, emptyRow.unreadCount], [
      empty._id,
      null,
      0,
    ]);
    // Own messages are never unread.
    const ofA = await store.groups.conversations("a", page());
    assertEquals(
      ofA.map((r) =>
        r.kind === "group" ? [r.group.name, r.unreadCount] : [r.partnerId, r.unreadCount]
      ),
      [
        ["G", 1],
        ["o", 0],
      ],
    );
    assertEquals((await store.groups.conversations("o", page(1, 1))).map((r) => r.kind), [
      "direct",
    ]);
    assertEquals(await store.groups.conversations("o", page(5, 3)), []);
  });

  test("markRead() moves a member's pointer forward only; unread counts and reads() follow it", async (store) => {
    const g = await groupOf(store, ["o", "a", "b"]);
    const m: string[] = [];
    for (const text of ["1", "2", "3"]) {
      m.push((await store.groups.insertMessage(post(g._id, "o", text))).message._id);
    }
    const unread = async (userId: string) => {
      const row = (await store.groups.conversations(userId, page())).find((r) =>
        r.kind === "group"
      );
      return row?.unreadCount;
    };
    assertEquals(await unread("a"), 3);

    assertEquals(await store.groups.markRead(g._id, "a", m[1]!, T1), {
      ok: true,
      moved: true,
      messageId: m[1]!,
      readAt: T1,
    });
    assertEquals(await unread("a"), 1);
    assertEquals(await store.groups.markRead(g._id, "a", m[0]!, T2), {
      ok: true,
      moved: false,
      messageId: m[1]!,
      readAt: T1,
    });
    assertEquals(await unread("a"), 1);
    assertEquals(await store.groups.markRead(g._id, "b", m[2]!, T2), {
      ok: true,
      moved: true,
      messageId: m[2]!,
      readAt: T2,
    });
    assertEquals(await unread("b"), 0);

    // Every member but the sender whose pointer is at or past the message, in join order.
    assertEquals(await store.groups.reads(g._id, m[0]!), [{ userId: "a", readAt: T1 }, {
      userId: "b",
      readAt: T2,
    }]);
    assertEquals(await store.groups.reads(g._id, m[2]!), [{ userId: "b", readAt: T2 }]);
    await store.groups.removeMember(g._id, "b", T2);
    assertEquals(await store.groups.reads(g._id, m[2]!), []);

    assertEquals(await store.groups.markRead(g._id, "x", m[2]!, T2), {
      ok: false,
      reason: "not_member",
    });
    const other = await groupOf(store, ["o", "a"], "H");
    assertEquals(await store.groups.markRead(other._id, "a", m[2]!, T2), {
      ok: false,
      reason: "not_found",
    });
    assertEquals(await store.groups.reads(other._id, m[2]!), []);
  });

  test("undelivered() offers each member what lies after their delivered pointer; acknowledge() moves it", async (store) => {
    const g = await groupOf(store, ["o", "a", "b"]);
    const h = await groupOf(store, ["a", "b"], "H");
    const m1 = (await store.groups.insertMessage(post(g._id, "o", "g1"))).message;
    const m2 = (await store.groups.insertMessage(post(h._id, "a", "h1"))).message;
    const m3 = (await store.groups.insertMessage(post(g._id, "a", "g2"))).message;
    const texts = async (userId: string, after?: string) =>
      (await store.groups.undelivered(userId, { limit: 10, after })).map((m) => m.text);
    assertEquals(await texts("b"), ["g1", "h1", "g2"]);
    assertEquals(await texts("a"), ["g1"]);
    assertEquals(await texts("b", m1._id), ["h1", "g2"]);
    assertEquals((await store.groups.undelivered("b", { limit: 1 })).map((m) => m._id), [m1._id]);

    assertEquals(await store.groups.acknowledge(g._id, "b", m1._id), true);
    assertEquals(await store.groups.acknowledge(g._id, "b", m1._id), false);
    assertEquals(await texts("b"), ["h1", "g2"]);
    assertEquals(await store.groups.acknowledge(h._id, "b", m2._id), true);
    assertEquals(await texts("b"), ["g2"]);
    // Acknowledged by one member, still offered to the others.
    assertEquals(await texts("o"), ["g2"]);
    assertEquals(await store.groups.acknowledge(h._id, "b", m3._id), false);

    // A read moves the delivered pointer too.
    await store.groups.markRead(g._id, "b", m3._id, T1);
    assertEquals(await texts("b"), []);

    // A newcomer is offered nothing from before they joined; a removed member nothing at all.
    await store.groups.addMembers(g._id, ["c"], T1);
    assertEquals(await texts("c"), []);
    await store.groups.insertMessage(post(g._id, "o", "g3"));
    assertEquals(await texts("c"), ["g3"]);
    await store.groups.removeMember(g._id, "c", T2);
    assertEquals(await texts("c"), []);
    assertEquals(await store.groups.acknowledge(g._id, "c", m3._id), false);
    // Joining starts the read pointer at the newest message: nothing before it is unread.
    await store.groups.addMembers(g._id, ["d"], T2);
    const row = (await store.groups.conversations("d", page()))[0];
    assert(row?.kind === "group");
    assertEquals(row.unreadCount, 0);
  });

  test("mute() silences a group for one member until a time or until unmute()", async (store) => {
    const g = await groupOf(store, ["o", "a"]);
    assertEquals(await store.groups.isMuted(g._id, "a", T1), false);
    await store.groups.mute(g._id, "a", T2);
    assertEquals(await store.groups.isMuted(g._id, "a", T1), true);
    assertEquals(await store.groups.isMuted(g._id, "a", T2), false);
    assertEquals(await store.groups.isMuted(g._id, "o", T1), false);
    await store.groups.mute(g._id, "a", null);
    assertEquals(await store.groups.isMuted(g._id, "a", "2999-01-01T00:00:00.000Z"), true);
    const row = (await store.groups.conversations("a", page()))[0];
    assert(row?.kind === "group");
    assertEquals([row.muted, row.mutedUntil], [true, null]);
    assertEquals(await store.groups.unmute(g._id, "a"), true);
    assertEquals(await store.groups.unmute(g._id, "a"), false);
    assertEquals(await store.groups.isMuted(g._id, "a", T1), false);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    await store.groups.mute(g._id, "a", future);
    const until = (await store.groups.conversations("a", page()))[0];
    assert(until?.kind === "group");
    assertEquals([until.muted, until.mutedUntil], [true, future]);
  });

  test("search() finds group messages for members only, newest first; 1:1 search finds none of them", async (store) => {
    const g = await groupOf(store, ["o", "a", "b"]);
    const h = await groupOf(store, ["a", "c"], "H");
    const first = (await store.groups.insertMessage(post(g._id, "o", "Picnic on Sunday"))).message;
    const second = (await store.groups.insertMessage(post(h._id, "a", "picnic basket"))).message;
    const third = (await store.groups.insertMessage(post(g._id, "b", "the picnic is off"))).message;
    await store.messages.insert({
      senderId: "a",
      receiverId: "o",
      text: "picnic?",
      file: null,
      clientMessageId: null,
    });
    const found = async (
      userId: string,
      q: string,
      query: { groupId?: string; before?: string } = {},
    ) => (await store.groups.search(userId, q, { limit: 10, ...query })).map((m) => m._id);

    assertEquals(await found("a", "picnic"), [third._id, second._id, first._id]);
    assertEquals(await found("o", "PICNIC sunday"), [first._id]);
    assertEquals(await found("c", "picnic"), [second._id]);
    assertEquals(await found("x", "picnic"), []);
    assertEquals(await found("a", "picnic", { groupId: g._id }), [third._id, first._id]);
    assertEquals(await found("c", "picnic", { groupId: g._id }), []);
    assertEquals(await found("a", "picnic", { before: third._id }), [second._id, first._id]);
    assertEquals(await found("a", "  "), []);
    // The sender's own 1:1 search does not see group messages.
    assertEquals((await store.messages.search("a", "picnic", { limit: 10 })).map((m) => m.text), [
      "picnic?",
    ]);

    const hidden = await store.messages.hideForUser(third._id, "a");
    assert(hidden.ok);
    assertEquals(await found("a", "picnic", { groupId: g._id }), [first._id]);
    assertEquals(await found("o", "picnic"), [third._id, first._id]);
    const edited = await store.messages.editMessage(first._id, "o", "barbecue on Sunday", T1);
    assert(edited.ok);
    assertEquals(await found("b", "barbecue"), [first._id]);
    assertEquals(await found("b", "picnic"), [third._id]);

    await store.groups.removeMember(g._id, "b", T2);
    assertEquals(await found("b", "picnic"), []);
  });

  test("a deleted group message leaves history, the list row, unread counts and catch-up", async (store) => {
    const g = await groupOf(store, ["o", "a"]);
    const kept = (await store.groups.insertMessage(post(g._id, "o", "kept"))).message;
    const gone = (await store.groups.insertMessage(post(g._id, "o", "oops", "c-9"))).message;
    assertEquals(await store.messages.delete(gone._id), true);
    assertEquals(await store.messages.get(gone._id), null);
    assertEquals((await store.groups.history(g._id, page())).map((m) => m.text), ["kept"]);
    const row = (await store.groups.conversations("a", page()))[0];
    assert(row?.kind === "group");
    assertEquals([row.lastMessage?._id, row.unreadCount], [kept._id, 1]);
    assertEquals((await store.groups.undelivered("a", { limit: 10 })).map((m) => m.text), ["kept"]);
    assertEquals(await store.groups.markRead(g._id, "a", gone._id, T1), {
      ok: false,
      reason: "not_found",
    });
    assertEquals(await store.groups.reads(g._id, gone._id), []);
  });

  test("a message to a large group is one stored message, whatever the member count", async (store) => {
    const memberIds = Array.from({ length: 256 }, (_, i) => `m${i}`);
    const g = await store.groups.createGroup({
      name: "Big",
      ownerId: "m0",
      memberIds,
      createdAt: T0,
    });
    assertEquals((await store.groups.get(g._id))?.memberIds, memberIds);
    const sent = (await store.groups.insertMessage(post(g._id, "m0", "to everyone"))).message;
    assertEquals((await store.groups.history(g._id, page())).map((m) => m._id), [sent._id]);
    assertEquals((await store.groups.undelivered("m255", { limit: 10 })).map((m) => m._id), [
      sent._id,
    ]);
    const row = (await store.groups.conversations("m128", page()))[0];
    assert(row?.kind === "group");
    assertEquals(row.unreadCount, 1);
  });
}
