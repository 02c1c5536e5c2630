/**
 * The repository contract, run against every backend (sqlite_store_test.ts,
 * mongo_store_test.ts). A backend passes when it behaves identically here.
 */
import { AppError } from "../src/errors.ts";
import {
  type ChatStore,
  type ConversationSummary,
  type InsertResult,
  MAX_REACTION_EMOJI,
  type NewMessage,
  quoteOf,
} from "../src/store/repository.ts";
import type { StoreBackend } from "../src/store/backend.ts";
import { assert, assertEquals, assertRejects } from "./helpers/assert.ts";

export type OpenBackend = () => Promise<StoreBackend>;

/**
 * The `test` of a contract: each test named `${prefix}${title}` opens its own
 * backend, hands `fn` the part under test (`part`) and closes the backend after.
 */
export function backendTests<T>(
  prefix: string,
  open: OpenBackend,
  part: (backend: StoreBackend) => T,
  options: { ignore?: boolean },
): (title: string, fn: (part: T) => Promise<void>) => void {
  return (title, fn) =>
    Deno.test({
      name: `${prefix}${title}`,
      ignore: options.ignore,
      // The MongoDB driver keeps pooled sockets past close().
      sanitizeResources: false,
      sanitizeOps: false,
      async fn() {
        const backend = await open();
        try {
          await fn(part(backend));
        } finally {
          await backend.close();
        }
      },
    });
}

function draft(
  senderId: string,
  receiverId: string,
  text: string,
  clientMessageId: string | null = null,
): NewMessage {
  return { senderId, receiverId, text, file: null, clientMessageId };
}

const page = (limit = 50, skip = 0) => ({ limit, skip });

export interface ContractOptions {
  ignore?: boolean;
  /** The store encrypts message content at rest: search refuses (SEARCH_UNAVAILABLE). */
  encrypted?: boolean;
}

export function storeContract(name: string, open: OpenBackend, options: ContractOptions = {}) {
  const searchable = !options.encrypted;
  const test = backendTests(`${name}: `, open, (backend) => backend.chat, options);

  test("insert returns the stored message with a string id and ISO times", async (store) => {
    const file = {
      url: "https://x.example/a.pdf",
      type: "document",
      name: "a.pdf",
      size: 10,
    } as const;
    const { message, duplicate } = await store.messages.insert({ ...draft("a", "b", "hi"), file });
    assertEquals(duplicate, false);
    assertEquals(typeof message._id, "string");
    assertEquals(message.readAt, null);
    assertEquals(message.deliveredAt, null);
    assertEquals(message.file, file);
    assertEquals(message.clientMessageId, null);
    assertEquals(new Date(message.createdAt).toISOString(), message.createdAt);
    assertEquals(await store.messages.get(message._id), message);
    assertEquals(await store.messages.get("000000000000000000000000"), null);
    assertEquals(await store.messages.get("not-an-id"), null);
  });

  test("history pages newest-first windows in chronological order, in both directions", async (store) => {
    const ids: string[] = [];
    for (let i = 0; i < 6; i++) {
      const { message } = await store.messages.insert(
        draft(i % 2 ? "b" : "a", i % 2 ? "a" : "b", `m${i}`),
      );
      ids.push(message._id);
    }
    await store.messages.insert(draft("a", "c", "other conversation"));
    const texts = async (q: Parameters<ChatStore["messages"]["history"]>[2], x = "a", y = "b") =>
      (await store.messages.history(x, y, q)).map((m) => m.text);
    assertEquals(await texts(page()), ["m0", "m1", "m2", "m3", "m4", "m5"]);
    assertEquals(await texts(page(), "b", "a"), ["m0", "m1", "m2", "m3", "m4", "m5"]);
    assertEquals(await texts(page(2)), ["m4", "m5"]);
    assertEquals(await texts(page(2, 3)), ["m1", "m2"]);
    assertEquals(await texts({ limit: 2, skip: 0, before: ids[4] }), ["m2", "m3"]);
    assertEquals(await texts({ limit: 2, skip: 1, before: ids[4] }), ["m1", "m2"]);
    assertEquals(await texts(page(), "a", "nobody"), []);
    assertEquals(ids, [...ids].sort(), "ids sort in creation order");
  });

  test("listForUser returns sent and received messages, newest first", async (store) => {
    const m1 = (await store.messages.insert(draft("a", "b", "1"))).message;
    const m2 = (await store.messages.insert(draft("c", "a", "2"))).message;
    await store.messages.insert(draft("b", "c", "not a's"));
    const m3 = (await store.messages.insert(draft("a", "c", "3"))).message;
    assertEquals((await store.messages.listForUser("a", page())).map((m) => m._id), [
      m3._id,
      m2._id,
      m1._id,
    ]);
    assertEquals((await store.messages.listForUser("a", page(1, 1))).map((m) => m._id), [m2._id]);
  });

  test("conversations keep last message and unread count through send, read and delete", async (store) => {
    const m1 = (await store.messages.insert(draft("a", "b", "1"))).message;
    const m2 = (await store.messages.insert(draft("a", "b", "2"))).message;
    const m3 = (await store.messages.insert(draft("c", "b", "3"))).message;
    let rows = await store.messages.conversations("b", page());
    assertEquals(rows.map((r) => [r.partnerId, r.lastMessage?._id, r.unreadCount]), [
      ["c", m3._id, 1],
      ["a", m2._id, 2],
    ]);
    assertEquals(
      (await store.messages.conversations("a", page())).map((r) => [r.partnerId, r.unreadCount]),
      [["b", 0]],
    );

    const read = await store.messages.markRead(m1._id, new Date().toISOString());
    assert(read?.readAt);
    assertEquals(
      await store.messages.markRead(m1._id, new Date().toISOString()),
      null,
      "read once",
    );
    rows = await store.messages.conversations("b", page());
    assertEquals(rows.find((r) => r.partnerId === "a")?.unreadCount, 1);

    // Reply from b moves "a" to the top for b.
    const m4 = (await store.messages.insert(draft("b", "a", "4"))).message;
    rows = await store.messages.conversations("b", page());
    assertEquals(rows.map((r) => r.partnerId), ["a", "c"]);
    assertEquals(rows[0]?.lastMessage?._id, m4._id);
    assertEquals((await store.messages.conversations("b", page(1, 1))).map((r) => r.partnerId), [
      "c",
    ]);

    // Deleting the newest message falls back to the one before it; unread m2 stops counting.
    assert(await store.messages.delete(m4._id));
    assert(await store.messages.delete(m2._id));
    rows = await store.messages.conversations("b", page());
    assertEquals(rows.find((r) => r.partnerId === "a")?.lastMessage?._id, m1._id);
    assertEquals(rows.find((r) => r.partnerId === "a")?.unreadCount, 0);

    // Deleting the last message of a conversation removes it from the list.
    assert(await store.messages.delete(m3._id));
    rows = await store.messages.conversations("b", page());
    assertEquals(rows.map((r) => r.partnerId), ["a"]);
    assertEquals((await store.messages.partnersOf("b")).sort(), ["a"]);
  });

  test("delete removes the message from get, history and my-chats", async (store) => {
    const keep = (await store.messages.insert(draft("a", "b", "keep"))).message;
    const gone = (await store.messages.insert(draft("a", "b", "gone", "cid-1"))).message;
    assertEquals(await store.messages.delete(gone._id), true);
    assertEquals(await store.messages.delete(gone._id), false);
    assertEquals(await store.messages.delete("000000000000000000000000"), false);
    assertEquals(await store.messages.get(gone._id), null);
    assertEquals((await store.messages.history("a", "b", page())).map((m) => m._id), [keep._id]);
    assertEquals((await store.messages.listForUser("b", page())).map((m) => m._id), [keep._id]);
    assertEquals(await store.messages.markRead(gone._id, new Date().toISOString()), null);
  });

  test("a repeated client id stores nothing and returns the original; a deleted one is DELETED", async (store) => {
    const first = await store.messages.insert(draft("a", "b", "original", "cid-1"));
    const again = await store.messages.insert(draft("a", "b", "different text", "cid-1"));
    assertEquals(again.duplicate, true);
    assertEquals(again.message, first.message);
    // Same client id from another sender is a different message.
    const other = await store.messages.insert(draft("c", "b", "c's own", "cid-1"));
    assertEquals(other.duplicate, false);
    // Messages without a client id never collide.
    await store.messages.insert(draft("a", "b", "no id 1"));
    await store.messages.insert(draft("a", "b", "no id 2"));
    assertEquals((await store.messages.history("a", "b", page())).length, 3);
    assertEquals(
      (await store.messages.conversations("b", page())).find((r) => r.partnerId === "a")
        ?.unreadCount,
      3,
    );

    // Concurrent repeats: exactly one is stored.
    const racers = await Promise.all(
      Array.from({ length: 8 }, () => store.messages.insert(draft("a", "b", "race", "cid-race"))),
    );
    assertEquals(racers.filter((r) => !r.duplicate).length, 1);
    assertEquals(new Set(racers.map((r) => r.message._id)).size, 1);

    assert(await store.messages.delete(first.message._id));
    await assertRejects(
      () => store.messages.insert(draft("a", "b", "resend", "cid-1")),
      (err) => assertEquals(err instanceof AppError && err.code, "DELETED"),
    );
    assertEquals(
      (await store.messages.history("a", "b", page())).filter((m) => m.clientMessageId === "cid-1"),
      [],
    );
  });

  test("delivery: undelivered lists a receiver's messages oldest first until each is delivered or read", async (store) => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await store.messages.insert(draft("a", "b", `d${i}`))).message._id);
    }
    await store.messages.insert(draft("b", "a", "to a"));
    const pending = async (limit = 50, after?: string) =>
      (await store.messages.undelivered("b", { limit, after })).map((m) => m.text);
    assertEquals(await pending(), ["d0", "d1", "d2", "d3", "d4"]);
    assertEquals(await pending(2), ["d0", "d1"]);
    assertEquals(await pending(2, ids[1]), ["d2", "d3"]);

    const at = new Date().toISOString();
    const delivered = await store.messages.markDelivered(ids[0]!, at);
    assertEquals(delivered, { senderId: "a", receiverId: "b", deliveredAt: at }, "the receipt");
    assertEquals(
      await store.messages.markDelivered(ids[0]!, new Date().toISOString()),
      null,
      "delivered once",
    );
    assertEquals((await store.messages.get(ids[0]!))?.deliveredAt, at);

    const read = await store.messages.markRead(ids[1]!, new Date().toISOString());
    assertEquals(read?.deliveredAt, read?.readAt, "read implies delivered");
    assert(await store.messages.delete(ids[2]!));
    assertEquals(await pending(), ["d3", "d4"]);
    assertEquals((await store.messages.undelivered("a", { limit: 10 })).map((m) => m.text), [
      "to a",
    ]);
    assertEquals(await store.messages.markDelivered("000000000000000000000000", at), null);
  });

  test("users: profile upsert, presence and bulk lookup", async (store) => {
    const created = await store.users.upsertProfile("u1", { username: "Ann" });
    assertEquals(created.username, "Ann");
    assertEquals(created.email, null);
    assertEquals(created.isOnline, false);
    const updated = await store.users.upsertProfile("u1", { email: "ann@example.com" });
    assertEquals(updated.username, "Ann", "fields not given are kept");
    assertEquals(updated.email, "ann@example.com");
    const seen = new Date().toISOString();
    await store.users.setPresence("u1", true, seen);
    const online = await store.users.get("u1");
    assertEquals(online?.isOnline, true);
    assertEquals(online?.lastSeen, seen);
    await store.users.setPresence("u2", true, seen);
    await store.users.setPresence("u2", false, seen);
    const many = await store.users.getMany(["u1", "u2", "nobody"]);
    assertEquals([...many.keys()].sort(), ["u1", "u2"]);
    assertEquals(many.get("u2")?.isOnline, false, "offline again");
    await store.users.setPresence("gone", false, seen);
    assertEquals(await store.users.get("gone"), null, "going offline creates no user");
    assertEquals(await store.users.get("nobody"), null);
  });

  test("users: profile and presence updates of one user at once both land", async (store) => {
    // A second tab's profile update while the first tab's "online" is being stored.
    for (let round = 0; round < 3; round++) {
      const ids = Array.from({ length: 50 }, (_, i) => `race${round}-${i}`);
      await Promise.all(ids.map((id) => store.users.upsertProfile(id, { username: id })));
      const seen = new Date().toISOString();
      await Promise.all(ids.flatMap((id) => [
        store.users.setPresence(id, true, seen),
        store.users.upsertProfile(id, { username: `name ${id}` }),
      ]));
      const users = await store.users.getMany(ids);
      for (const id of ids) {
        assertEquals(
          [users.get(id)?.isOnline, users.get(id)?.username],
          [true, `name ${id}`],
          `${id}, round ${round}`,
        );
      }
    }
  });

  test("users: markAllOffline sets every online user offline, lastSeen never moved back", async (store) => {
    const [t0, t1, t2, t3] = [
      "2024-01-01T10:00:00.000Z",
      "2024-01-01T11:00:00.000Z",
      "2024-01-01T12:00:00.000Z",
      "2024-01-01T13:00:00.000Z",
    ];
    await store.users.setPresence("on-early", true, t1);
    await store.users.setPresence("on-late", true, t3);
    await store.users.setPresence("off", false, t0);
    await store.users.upsertProfile("never", { username: "Nev" });
    const before = await store.users.getMany(["off", "never"]);

    assertEquals(await store.users.markAllOffline(t2), 2);
    const after = await store.users.getMany(["on-early", "on-late", "off", "never"]);
    const state = (id: string) => [after.get(id)?.isOnline, after.get(id)?.lastSeen];
    assertEquals(state("on-early"), [false, t2], "lastSeen moves up to the given time");
    assertEquals(state("on-late"), [false, t3], "a later lastSeen is kept");
    assertEquals(after.get("off"), before.get("off"), "an offline user is left as it was");
    assertEquals(after.get("never"), before.get("never"));
    assertEquals(await store.users.markAllOffline(t3), 0, "nobody is online any more");

    await store.users.setPresence("on-early", true, t3);
    assertEquals((await store.users.get("on-early"))?.isOnline, true, "online again afterwards");
  });

  test("listForUser merges every conversation newest first, on any page, after deletes", async (store) => {
    const partners = ["b", "c", "d", "e", "f"];
    const mine: string[] = [];
    for (let i = 0; i < 60; i++) {
      const partner = partners[(i * 7) % 5]!;
      const [from, to] = i % 3 === 0 ? [partner, "a"] : ["a", partner];
      mine.push((await store.messages.insert(draft(from, to, `m${i}`))).message._id);
      if (i % 10 === 0) await store.messages.insert(draft("b", "c", `not a's ${i}`));
    }
    const newestFirst = () => [...mine].reverse();
    const ids = async (limit: number, skip: number) =>
      (await store.messages.listForUser("a", page(limit, skip))).map((m) => m._id);
    for (const [limit, skip] of [[50, 0], [10, 5], [7, 53], [200, 0], [5, 58], [5, 60]]) {
      assertEquals(
        await ids(limit!, skip!),
        newestFirst().slice(skip, skip! + limit!),
        `${limit}/${skip}`,
      );
    }
    // Deleting the newest message of a conversation and one deep inside another.
    for (const id of [mine.at(-1)!, mine[20]!]) {
      assert(await store.messages.delete(id));
      mine.splice(mine.indexOf(id), 1);
    }
    assertEquals(await ids(200, 0), newestFirst());
    assertEquals(await ids(3, 57), newestFirst().slice(57, 60));
  });

  // Batching (group commit): many writes in flight at once behave exactly as
  // if they had been committed one by one.

  test("batching: concurrent sends keep history order, unread counts and catch-up exact", async (store) => {
    const results = await Promise.all(
      Array.from({ length: 120 }, (_, i) =>
        store.messages.insert(
          i % 3 === 0 ? draft("b", "a", `c${i}`, `cc-${i}`) : draft("a", "b", `c${i}`, `cc-${i}`),
        )),
    );
    // Ids sort by arrival at the store (a wrapper such as encryption may reorder calls).
    const ids = results.map((r) => r.message._id).sort();
    assertEquals(new Set(ids).size, 120);
    assertEquals((await store.messages.history("a", "b", page(200))).map((m) => m._id), ids);
    const rowsOfB = await store.messages.conversations("b", page());
    assertEquals(rowsOfB.map((r) => [r.partnerId, r.lastMessage?._id, r.unreadCount]), [
      ["a", ids.at(-1), 80],
    ]);
    assertEquals((await store.messages.conversations("a", page()))[0]?.unreadCount, 40);
    assertEquals((await store.messages.undelivered("b", { limit: 200 })).length, 80);
    assertEquals((await store.messages.undelivered("a", { limit: 200 })).length, 40);
  });

  test("batching: concurrent duplicates among new sends store each client id once", async (store) => {
    const results = await Promise.all(
      Array.from(
        { length: 40 },
        (_, i) => store.messages.insert(draft("a", "b", `x${i % 10}`, `dup-${i % 10}`)),
      ),
    );
    assertEquals(results.filter((r) => !r.duplicate).length, 10);
    for (const [i, r] of results.entries()) {
      assertEquals(r.message, results[i % 10]!.message, `call ${i} answers the first of its id`);
    }
    assertEquals((await store.messages.history("a", "b", page(200))).length, 10);
    assertEquals((await store.messages.conversations("b", page()))[0]?.unreadCount, 10);
    assertEquals((await store.messages.undelivered("b", { limit: 200 })).length, 10);
  });

  test("batching: deliveries racing with new sends keep catch-up and counts exact", async (store) => {
    const first = await Promise.all(
      Array.from({ length: 20 }, (_, i) => store.messages.insert(draft("a", "b", `f${i}`))),
    );
    const at = new Date().toISOString();
    const [deliveries, later] = await Promise.all([
      Promise.all(first.slice(10).map((r) => store.messages.markDelivered(r.message._id, at))),
      Promise.all(
        Array.from({ length: 10 }, (_, i) => store.messages.insert(draft("a", "b", `l${i}`))),
      ),
    ]);
    assert(deliveries.every((receipt) => receipt?.deliveredAt === at));
    for (const r of first.slice(10)) {
      const stored = await store.messages.get(r.message._id);
      assertEquals([stored?.deliveredAt, stored?.readAt], [at, null]);
    }
    // Reads one after another: a read's conversation-row update is not batched.
    for (const r of first.slice(0, 10)) await store.messages.markRead(r.message._id, at);
    assertEquals((await store.messages.conversations("b", page()))[0]?.unreadCount, 20);
    assertEquals(
      (await store.messages.undelivered("b", { limit: 200 })).map((m) => m._id),
      later.map((r) => r.message._id).sort(),
    );
  });

  test("batching: reads and deletes racing with new sends keep unread counts and summaries exact", async (store) => {
    const at = new Date().toISOString();
    // Fresh users each round: every round is one independent race.
    for (let round = 0; round < 2; round++) {
      const [a, b, c] = [`a${round}`, `b${round}`, `c${round}`];
      const seeded = await Promise.all(
        Array.from({ length: 60 }, (_, i) => store.messages.insert(draft(a, b, `s${i}`))),
      );
      const ids = seeded.map((r) => r.message._id).sort();
      const lone = (await store.messages.insert(draft(c, b, "lone"))).message;
      // Each message is read or deleted at most once. Deleted: 15 unread ones, the newest one
      // (its rows fall back while new sends move them forward) and c's only message (its rows
      // are removed while c sends again).
      const reads = ids.slice(0, 30);
      const deletes = [...ids.slice(30, 45), ids.at(-1)!, lone._id];
      const sends: Promise<InsertResult>[] = [];
      const others: Promise<unknown>[] = [];
      for (let i = 0; i < 60; i++) {
        sends.push(
          store.messages.insert(i % 4 === 0 ? draft(b, a, `r${i}`) : draft(a, b, `n${i}`)),
        );
        if (i < reads.length) others.push(store.messages.markRead(reads[i]!, at));
        if (i % 3 === 0 && i / 3 < deletes.length) {
          others.push(store.messages.delete(deletes[i / 3]!));
        }
        if (i === 40) sends.push(store.messages.insert(draft(c, b, "again")));
      }
      const [sent, applied] = await Promise.all([Promise.all(sends), Promise.all(others)]);
      assert(applied.every((r) => r !== null && r !== false), "every read and delete applied");

      const newest = (results: InsertResult[]) =>
        results.map((r) => r.message).sort((x, y) => x._id < y._id ? -1 : 1).at(-1)?.text;
      const rowsOfB = await store.messages.conversations(b, page());
      const summary = (r: ConversationSummary) => [r.lastMessage?.text, r.unreadCount];
      assertEquals(
        Object.fromEntries(rowsOfB.map((r) => [r.partnerId, summary(r)])),
        {
          // 60 seeded + 45 new - 30 read - 16 deleted
          [a]: [newest(sent.filter((r) => r.message.senderId !== c)), 59],
          [c]: ["again", 1],
        },
        `round ${round}`,
      );
      assertEquals(
        (await store.messages.conversations(a, page())).map((r) => [r.partnerId, r.unreadCount]),
        [[b, 15]],
      );
    }
  });

  test("a read and a delete of the same unread message at once take it off the count once", async (store) => {
    const at = new Date().toISOString();
    // Unread messages nobody touches keep the count above zero, where no clamp hides a
    // double decrement.
    for (let i = 0; i < 30; i++) await store.messages.insert(draft("a", "b", `kept ${i}`));
    const raced: string[] = [];
    for (let i = 0; i < 40; i++) {
      // With a client id a delete leaves a tombstone, without one it removes the message.
      const cid = i % 4 < 2 ? `raced-${i}` : null;
      raced.push((await store.messages.insert(draft("a", "b", `raced ${i}`, cid))).message._id);
    }
    for (let round = 0; round < 2; round++) {
      // Half the pairs start with the read, half with the delete; each round its own messages.
      const ids = raced.slice(round * 20, round * 20 + 20);
      const results = await Promise.all(ids.flatMap((id, i) => {
        const read = () => store.messages.markRead(id, at);
        const remove = () => store.messages.delete(id);
        return i % 2 === 0 ? [read(), remove()] : [remove(), read()];
      }));
      assert(results.filter((r) => typeof r === "boolean").every((r) => r), "every delete applied");
      for (const id of ids) assertEquals(await store.messages.get(id), null);
      const rows = await store.messages.conversations("b", page());
      const unread = 30 + raced.length - ids.length * (round + 1);
      assertEquals(
        rows.map((r) => [r.partnerId, r.unreadCount]),
        [["a", unread]],
        `round ${round}`,
      );
    }
    const rowsOfA = await store.messages.conversations("a", page());
    assertEquals(rowsOfA.map((r) => [r.partnerId, r.unreadCount]), [["b", 0]]);
  });

  test("batching: a write that fails does not fail the writes sent with it", async (store) => {
    const gone = (await store.messages.insert(draft("a", "b", "gone", "cid-gone"))).message;
    assert(await store.messages.delete(gone._id));
    const [before, resend, after] = await Promise.allSettled([
      store.messages.insert(draft("a", "b", "before")),
      store.messages.insert(draft("a", "b", "resend", "cid-gone")),
      store.messages.insert(draft("a", "b", "after")),
    ]);
    assertEquals(before.status, "fulfilled");
    assertEquals(after.status, "fulfilled");
    assertEquals(resend.status, "rejected");
    assertEquals(
      resend.status === "rejected" && resend.reason instanceof AppError && resend.reason.code,
      "DELETED",
    );
    assertEquals((await store.messages.history("a", "b", page())).map((m) => m.text).sort(), [
      "after",
      "before",
    ]);
  });

  test("batching: more concurrent writes than one commit holds all land", async (store) => {
    const text = "x".repeat(2000);
    const results = await Promise.all(
      Array.from(
        { length: 300 },
        (_, i) => store.messages.insert(draft(`sender${i}`, "hub", `${i}${text}`, `big-${i}`)),
      ),
    );
    assertEquals(new Set(results.map((r) => r.message._id)).size, 300);
    assertEquals((await store.messages.partnersOf("hub")).length, 300);
    const rows = await store.messages.conversations("hub", page(50));
    const newestFirst = [...results].sort((x, y) => x.message._id < y.message._id ? 1 : -1);
    assertEquals(
      rows.map((r) => r.partnerId),
      newestFirst.slice(0, 50).map((r) => r.message.senderId),
    );
    assert(rows.every((r) => r.unreadCount === 1));
    assertEquals((await store.messages.undelivered("hub", { limit: 200 })).length, 200);
  });

  // ---- issue 18: edit, reactions, replies, search, delete for me, block, report, mute ----

  test("a new message has no edit, no reactions and no quote", async (store) => {
    const { message } = await store.messages.insert(draft("a", "b", "plain"));
    assertEquals([message.editedAt, message.reactions, message.replyTo], [null, [], null]);
    assertEquals(await store.messages.get(message._id), message);
  });

  test("editMessage changes the sender's text and sets editedAt; the conversation row follows", async (store) => {
    const { message } = await store.messages.insert(draft("a", "b", "first"));
    const at = new Date(Date.parse(message.createdAt) + 1000).toISOString();
    const edited = await store.messages.editMessage(message._id, "a", "second", at);
    assert(edited.ok);
    assertEquals(edited.message, { ...message, text: "second", editedAt: at, updatedAt: at });
    assertEquals(await store.messages.get(message._id), edited.message);
    assertEquals(
      (await store.messages.conversations("b", page()))[0]?.lastMessage?.text,
      "second",
    );
    assertEquals((await store.messages.history("a", "b", page()))[0]?.editedAt, at);

    assertEquals(await store.messages.editMessage(message._id, "b", "not b's", at), {
      ok: false,
      reason: "not_sender",
    });
    assertEquals(
      await store.messages.editMessage("000000000000000000000000", "a", "x", at),
      { ok: false, reason: "not_found" },
    );
    assertEquals(await store.messages.editMessage("not-an-id", "a", "x", at), {
      ok: false,
      reason: "not_found",
    });
    // The edit window: a message created before `createdAfter` is too old to edit.
    const later = new Date(Date.parse(message.createdAt) + 1).toISOString();
    assertEquals(
      await store.messages.editMessage(message._id, "a", "late", at, { createdAfter: later }),
      { ok: false, reason: "too_late" },
    );
    const inWindow = await store.messages.editMessage(message._id, "a", "third", at, {
      createdAfter: message.createdAt,
    });
    assertEquals(inWindow.ok && inWindow.message.text, "third");

    assert(await store.messages.delete(message._id));
    assertEquals(await store.messages.editMessage(message._id, "a", "gone", at), {
      ok: false,
      reason: "not_found",
    });
  });

  test("reactions: one of each emoji per user, in order, a repeat changes nothing", async (store) => {
    const { message } = await store.messages.insert(draft("a", "b", "react to me"));
    const add = (user: string, emoji: string) =>
      store.messages.addReaction(message._id, user, emoji);
    const remove = (user: string, emoji: string) =>
      store.messages.removeReaction(message._id, user, emoji);

    const first = await add("b", "👍");
    assertEquals(first.ok && [first.changed, first.message.reactions], [true, [{
      emoji: "👍",
      userIds: ["b"],
    }]]);
    const repeat = await add("b", "👍");
    assertEquals(repeat.ok && [repeat.changed, repeat.message.reactions], [false, [{
      emoji: "👍",
      userIds: ["b"],
    }]]);
    await add("a", "🇫🇷");
    await add("a", "👍");
    // Skin tones and ZWJ sequences are one emoji each, distinct from their base.
    await add("b", "👍🏽");
    await add("b", "👩‍👩‍👧");
    assertEquals((await store.messages.get(message._id))?.reactions, [
      { emoji: "👍", userIds: ["b", "a"] },
      { emoji: "🇫🇷", userIds: ["a"] },
      { emoji: "👍🏽", userIds: ["b"] },
      { emoji: "👩‍👩‍👧", userIds: ["b"] },
    ]);

    const removed = await remove("b", "👍");
    assertEquals(removed.ok && removed.changed, true);
    const again = await remove("b", "👍");
    assertEquals(again.ok && again.changed, false);
    await remove("a", "🇫🇷");
    assertEquals((await store.messages.get(message._id))?.reactions, [
      { emoji: "👍", userIds: ["a"] },
      { emoji: "👍🏽", userIds: ["b"] },
      { emoji: "👩‍👩‍👧", userIds: ["b"] },
    ], "an emoji leaves with its last user");
    assertEquals(
      (await store.messages.history("a", "b", page()))[0]?.reactions.length,
      3,
      "history carries reactions",
    );

    assertEquals(await add("c", "👍"), { ok: false, reason: "not_participant" });
    assertEquals(await remove("c", "👍"), { ok: false, reason: "not_participant" });
    assertEquals(await store.messages.addReaction("000000000000000000000000", "a", "👍"), {
      ok: false,
      reason: "not_found",
    });
    assert(await store.messages.delete(message._id));
    assertEquals(await add("a", "👍"), { ok: false, reason: "not_found" });
  });

  test(`reactions: at most ${MAX_REACTION_EMOJI} distinct emoji per message`, async (store) => {
    const { message } = await store.messages.insert(draft("a", "b", "popular"));
    const emoji = Array.from(
      { length: MAX_REACTION_EMOJI + 1 },
      (_, i) => String.fromCodePoint(0x1F600 + i),
    );
    for (const e of emoji.slice(0, MAX_REACTION_EMOJI)) {
      const result = await store.messages.addReaction(message._id, "a", e);
      assert(result.ok && result.changed, e);
    }
    const last = emoji.at(-1)!;
    assertEquals(await store.messages.addReaction(message._id, "b", last), {
      ok: false,
      reason: "too_many_emoji",
    });
    // One already there may still be added by the other user.
    const joined = await store.messages.addReaction(message._id, "b", emoji[0]!);
    assertEquals(joined.ok && joined.message.reactions[0], {
      emoji: emoji[0]!,
      userIds: ["a", "b"],
    });
    assertEquals((await store.messages.get(message._id))?.reactions.length, MAX_REACTION_EMOJI);
    // Taking one off makes room.
    await store.messages.removeReaction(message._id, "a", emoji[1]!);
    const fits = await store.messages.addReaction(message._id, "b", last);
    assertEquals(fits.ok && fits.changed, true);
  });

  test("reactions: concurrent reactions on one message all land", async (store) => {
    const { message } = await store.messages.insert(draft("a", "b", "busy"));
    const emoji = ["😀", "😁", "😂", "🤣", "😃", "😄", "😅", "😆"];
    const results = await Promise.all(emoji.flatMap((e) => [
      store.messages.addReaction(message._id, "a", e),
      store.messages.addReaction(message._id, "b", e),
    ]));
    assert(results.every((r) => r.ok && r.changed));
    const reactions = (await store.messages.get(message._id))!.reactions;
    assertEquals(reactions.map((r) => r.emoji).sort(), [...emoji].sort());
    assert(reactions.every((r) => [...r.userIds].sort().join() === "a,b"));
  });

  test("replies store the quote as sent; edits leave it, a delete leaves its id only", async (store) => {
    const file = { url: "https://x.example/p.png", type: "image", name: "p.png", size: 3 } as const;
    const long = "é".repeat(150) + "😀".repeat(100);
    const quoted = (await store.messages.insert({ ...draft("a", "b", long), file })).message;
    const quote = quoteOf(quoted);
    assertEquals(quote, {
      _id: quoted._id,
      senderId: "a",
      text: "é".repeat(150) + "😀".repeat(50),
      file: { name: "p.png", type: "image" },
    });
    const reply = (await store.messages.insert({ ...draft("b", "a", "re"), replyTo: quote }))
      .message;
    assertEquals(reply.replyTo, quote);
    assertEquals((await store.messages.get(reply._id))?.replyTo, quote);

    await store.messages.editMessage(quoted._id, "a", "changed", new Date().toISOString());
    assertEquals((await store.messages.get(reply._id))?.replyTo, quote, "kept through an edit");

    // Only a live message of the same conversation can be quoted.
    const elsewhere = (await store.messages.insert(draft("a", "c", "other"))).message;
    for (const replyTo of [quoteOf(elsewhere), { ...quote, _id: "000000000000000000000000" }]) {
      await assertRejects(
        () => store.messages.insert({ ...draft("b", "a", "bad"), replyTo }),
        (err) => assertEquals(err instanceof AppError && err.code, "VALIDATION_ERROR"),
      );
    }

    const second = (await store.messages.insert({ ...draft("a", "b", "re 2"), replyTo: quote }))
      .message;
    assert(await store.messages.delete(quoted._id));
    const gone = { _id: quoted._id, deleted: true as const };
    assertEquals((await store.messages.get(reply._id))?.replyTo, gone);
    assertEquals(
      (await store.messages.history("a", "b", page())).map((m) => m.replyTo),
      [gone, gone],
    );
    assertEquals((await store.messages.get(second._id))?.text, "re 2");
    await assertRejects(
      () => store.messages.insert({ ...draft("b", "a", "late"), replyTo: quote }),
      (err) => assertEquals(err instanceof AppError && err.code, "VALIDATION_ERROR"),
    );
  });

  if (!searchable) {
    test("search refuses with SEARCH_UNAVAILABLE while messages are encrypted at rest", async (store) => {
      await store.messages.insert(draft("a", "b", "findable words"));
      await assertRejects(
        () => store.messages.search("a", "findable", { limit: 10 }),
        (err) => assertEquals(err instanceof AppError && err.code, "SEARCH_UNAVAILABLE"),
      );
    });
  }

  if (searchable) {
    test("search finds the user's messages holding every word, case-insensitively, newest first", async (store) => {
      const sent = async (from: string, to: string, text: string) =>
        (await store.messages.insert(draft(from, to, text))).message._id;
      const m1 = await sent("a", "b", "Lunch at the Café tomorrow?");
      const m2 = await sent("b", "a", "lunch sounds good, tomorrow then");
      const m3 = await sent("a", "c", "LUNCH with c tomorrow");
      const m4 = await sent("a", "b", "no food words here");
      const m5 = await sent("b", "c", "lunch tomorrow without a");
      const ids = async (
        user: string,
        q: string,
        query: { with?: string; limit?: number; before?: string } = {},
      ) => (await store.messages.search(user, q, { limit: 20, ...query })).map((m) => m._id);

      assertEquals(await ids("a", "lunch tomorrow"), [m3, m2, m1]);
      assertEquals(
        await ids("a", "TOMORROW, lunch!"),
        [m3, m2, m1],
        "punctuation and case ignored",
      );
      assertEquals(await ids("a", "cafe"), [m1], "accents ignored");
      assertEquals(await ids("a", "lunch good"), [m2]);
      assertEquals(await ids("a", "lunch", { with: "b" }), [m2, m1]);
      assertEquals(await ids("a", "lunch", { with: "nobody" }), []);
      assertEquals(await ids("a", "lunch", { limit: 2 }), [m3, m2]);
      assertEquals(await ids("a", "lunch", { before: m3 }), [m2, m1]);
      assertEquals(await ids("a", "lunch", { before: m2, limit: 5 }), [m1]);
      assertEquals(await ids("c", "lunch"), [m5, m3]);
      assertEquals(await ids("a", "lun"), [], "whole words only");
      assertEquals(await ids("a", "  ?! "), [], "no words, nothing found");
      assertEquals(await ids("a", "words"), [m4]);
      const found = await store.messages.search("a", "good", { limit: 5 });
      assertEquals(found, [(await store.messages.get(m2))!], "whole messages");

      const m6 = await sent("b", "a", "नमस्ते दुनिया, καλημέρα κόσμε");
      assertEquals(await ids("a", "दुनिया"), [m6], "marks of other scripts kept");
      assertEquals(await ids("a", "दनय"), [], "…and not dropped");
      assertEquals(await ids("a", "ΚΑΛΗΜΈΡΑ"), [m6], "Greek case");
      assertEquals(await ids("a", "καλημερα"), [], "Greek accents kept, as SQLite FTS5 keeps them");

      // Edits are searched as edited; deleted messages are not found.
      await store.messages.editMessage(m4, "a", "now about dinner", new Date().toISOString());
      assertEquals(await ids("a", "words"), []);
      assertEquals(await ids("b", "dinner"), [m4]);
      assert(await store.messages.delete(m1));
      assertEquals(await ids("a", "lunch"), [m3, m2]);
    });
  }

  if (searchable) {
    test("search pages through many matches with before", async (store) => {
      const all: string[] = [];
      for (let i = 0; i < 45; i++) {
        const [from, to] = i % 2 ? ["a", "b"] : ["c", "a"];
        all.push((await store.messages.insert(draft(from, to, `needle number ${i}`))).message._id);
      }
      const newestFirst = [...all].reverse();
      const seen: string[] = [];
      let before: string | undefined;
      for (;;) {
        const pageOf = await store.messages.search("a", "needle", { limit: 20, before });
        if (pageOf.length === 0) break;
        seen.push(...pageOf.map((m) => m._id));
        before = pageOf.at(-1)!._id;
      }
      assertEquals(seen, newestFirst);
    });
  }

  test("hideForUser hides a message from one participant only: history, lists, search, counts", async (store) => {
    const m1 = (await store.messages.insert(draft("a", "b", "one secret"))).message;
    const m2 = (await store.messages.insert(draft("a", "b", "two secret"))).message;
    const hidden = await store.messages.hideForUser(m2._id, "b");
    assertEquals(hidden.ok && [hidden.changed, hidden.message._id], [true, m2._id]);
    const repeat = await store.messages.hideForUser(m2._id, "b");
    assertEquals(repeat.ok && repeat.changed, false);

    const texts = (messages: { text: string | null }[]) => messages.map((m) => m.text);
    assertEquals(texts(await store.messages.history("a", "b", { ...page(), viewerId: "b" })), [
      "one secret",
    ]);
    assertEquals(texts(await store.messages.history("a", "b", { ...page(), viewerId: "a" })), [
      "one secret",
      "two secret",
    ]);
    assertEquals(texts(await store.messages.history("a", "b", page())).length, 2, "no viewer");
    assertEquals(texts(await store.messages.listForUser("b", page())), ["one secret"]);
    assertEquals(texts(await store.messages.listForUser("a", page())).length, 2);
    if (searchable) {
      assertEquals(texts(await store.messages.search("b", "secret", { limit: 10 })), [
        "one secret",
      ]);
      assertEquals(texts(await store.messages.search("a", "secret", { limit: 10 })).length, 2);
    }
    assertEquals(texts(await store.messages.undelivered("b", { limit: 10 })), ["one secret"]);
    const rowOf = async (user: string) => (await store.messages.conversations(user, page()))[0];
    assertEquals([(await rowOf("b"))?.lastMessage?._id, (await rowOf("b"))?.unreadCount], [
      m1._id,
      1,
    ]);
    assertEquals((await rowOf("a"))?.lastMessage?._id, m2._id, "the sender's row is unchanged");

    // Read or deleted afterwards, a hidden unread message is not taken off the count again.
    await store.messages.markRead(m2._id, new Date().toISOString());
    assertEquals((await rowOf("b"))?.unreadCount, 1);
    assert(await store.messages.delete(m2._id));
    assertEquals((await rowOf("b"))?.unreadCount, 1);
    assertEquals((await rowOf("a"))?.lastMessage?._id, m1._id);

    // The last message hidden: the conversation leaves that user's list only.
    await store.messages.hideForUser(m1._id, "a");
    assertEquals(await store.messages.conversations("a", page()), []);
    assertEquals((await rowOf("b"))?.lastMessage?._id, m1._id);
    const m3 = (await store.messages.insert(draft("b", "a", "back"))).message;
    assertEquals((await rowOf("a"))?.lastMessage?._id, m3._id, "a new message brings it back");

    assertEquals(await store.messages.hideForUser(m1._id, "c"), {
      ok: false,
      reason: "not_participant",
    });
    assertEquals(await store.messages.hideForUser("000000000000000000000000", "a"), {
      ok: false,
      reason: "not_found",
    });
  });

  test("hideForUser: a read and a hide of the same unread message at once count it once", async (store) => {
    for (let i = 0; i < 5; i++) await store.messages.insert(draft("a", "b", `kept ${i}`));
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) {
      ids.push((await store.messages.insert(draft("a", "b", `raced ${i}`))).message._id);
    }
    const at = new Date().toISOString();
    await Promise.all(ids.flatMap((id, i) => {
      const read = () => store.messages.markRead(id, at);
      const hide = () => store.messages.hideForUser(id, "b");
      return i % 2 ? [read(), hide()] : [hide(), read()];
    }));
    assertEquals((await store.messages.conversations("b", page()))[0]?.unreadCount, 5);
  });

  test("blocks: one way each, seen both ways, listed newest first", async (store) => {
    const t1 = "2026-01-01T10:00:00.000Z";
    const t2 = "2026-01-01T11:00:00.000Z";
    assertEquals(await store.blocks.block("a", "b", t1), true);
    assertEquals(await store.blocks.block("a", "b", t2), false, "a repeat changes nothing");
    assertEquals(await store.blocks.block("a", "c", t2), true);
    assertEquals(await store.blocks.block("d", "a", t1), true);
    assertEquals(await store.blocks.listBlocked("a"), [
      { userId: "c", blockedAt: t2 },
      { userId: "b", blockedAt: t1 },
    ]);
    assertEquals(await store.blocks.listBlocked("b"), []);
    assertEquals(
      [await store.blocks.isBlocked("a", "b"), await store.blocks.isBlocked("b", "a")],
      [true, true],
    );
    assertEquals(await store.blocks.isBlocked("b", "c"), false);
    assertEquals((await store.blocks.blockedEitherWay("a")).sort(), ["b", "c", "d"]);
    assertEquals(await store.blocks.blockedEitherWay("b"), ["a"]);

    assertEquals(await store.blocks.unblock("a", "b"), true);
    assertEquals(await store.blocks.unblock("a", "b"), false);
    assertEquals(await store.blocks.unblock("b", "d"), false);
    assertEquals(await store.blocks.isBlocked("a", "b"), false);
    assertEquals(await store.blocks.isBlocked("a", "d"), true);
  });

  test("reports: by the receiver, once per message, with the text as it was", async (store) => {
    const { message } = await store.messages.insert(draft("a", "b", "rude words"));
    const input = {
      messageId: message._id,
      reporterId: "b",
      reason: "abuse" as const,
      note: "not nice",
      createdAt: "2026-01-01T10:00:00.000Z",
    };
    assertEquals(await store.reports.report({ ...input, reporterId: "a" }), {
      ok: false,
      reason: "not_receiver",
    });
    assertEquals(await store.reports.report({ ...input, reporterId: "c" }), {
      ok: false,
      reason: "not_receiver",
    });
    assertEquals(
      await store.reports.report({ ...input, messageId: "000000000000000000000000" }),
      { ok: false, reason: "not_found" },
    );
    const first = await store.reports.report(input);
    assert(first.ok && first.created);
    assertEquals({ ...first.report, _id: "" }, {
      _id: "",
      messageId: message._id,
      reporterId: "b",
      reportedUserId: "a",
      reason: "abuse",
      note: "not nice",
      text: "rude words",
      file: null,
      createdAt: input.createdAt,
    });

    await store.messages.editMessage(message._id, "a", "nice words", new Date().toISOString());
    const repeat = await store.reports.report({ ...input, reason: "spam", note: null });
    assertEquals(repeat, { ok: true, created: false, report: first.report });
    assert(await store.messages.delete(message._id));
    assertEquals(await store.reports.report(input), repeat, "kept through a delete");

    const other = (await store.messages.insert(draft("c", "b", "spam spam"))).message;
    const racers = await Promise.all(
      Array.from(
        { length: 5 },
        () => store.reports.report({ ...input, messageId: other._id, reason: "spam" }),
      ),
    );
    assertEquals(racers.filter((r) => r.ok && r.created).length, 1);
    const second = racers[0]!.ok ? racers[0]!.report : null;
    assert(second && racers.every((r) => r.ok && r.report._id === second._id));
    assertEquals((await store.reports.list({ limit: 10 })).map((r) => r.text), [
      "spam spam",
      "rude words",
    ]);
    assertEquals(await store.reports.list({ limit: 10, before: second._id }), [first.report]);
    assertEquals((await store.reports.list({ limit: 1 })).map((r) => r._id), [second._id]);
  });

  test("mutes: the muter's row shows muted and its end; a passed end no longer mutes", async (store) => {
    await store.messages.insert(draft("a", "b", "hi"));
    await store.messages.insert(draft("a", "c", "hi"));
    const rows = async (user: string) =>
      Object.fromEntries(
        (await store.messages.conversations(user, page())).map((r) => [
          r.partnerId,
          [r.muted, r.mutedUntil],
        ]),
      );
    assertEquals(await rows("a"), { b: [false, null], c: [false, null] });
    const soon = new Date(Date.now() + 3_600_000).toISOString();
    const past = new Date(Date.now() - 1000).toISOString();
    const now = new Date().toISOString();

    await store.mutes.mute("a", "b", null);
    await store.mutes.mute("a", "c", soon);
    assertEquals(await rows("a"), { b: [true, null], c: [true, soon] });
    assertEquals(await rows("b"), { a: [false, null] }, "only the muter's row");
    assertEquals(await store.mutes.isMuted("a", "b", now), true);
    assertEquals(await store.mutes.isMuted("a", "c", now), true);
    assertEquals(await store.mutes.isMuted("a", "c", soon), false, "ends at `until`");
    assertEquals(await store.mutes.isMuted("b", "a", now), false);

    await store.mutes.mute("a", "c", past);
    assertEquals(await rows("a"), { b: [true, null], c: [false, null] });
    assertEquals(await store.mutes.isMuted("a", "c", now), false);

    assertEquals(await store.mutes.unmute("a", "b"), true);
    assertEquals(await store.mutes.unmute("a", "b"), false);
    assertEquals(await store.mutes.isMuted("a", "b", now), false);
    assertEquals((await rows("a")).b, [false, null]);
    // A mute of someone not written to yet holds once they write.
    await store.mutes.mute("a", "e", null);
    assertEquals(await store.mutes.isMuted("a", "e", now), true);
    await store.messages.insert(draft("e", "a", "hello"));
    assertEquals((await rows("a")).e, [true, null]);
  });
}
