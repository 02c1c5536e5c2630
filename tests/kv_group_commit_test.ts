import { GroupCommit } from "../src/store/kv/group_commit.ts";
import { assert, assertEquals } from "./helpers/assert.ts";

async function withKv(fn: (kv: Deno.Kv) => Promise<void>): Promise<void> {
  const kv = await Deno.openKv(":memory:");
  try {
    await fn(kv);
  } finally {
    kv.close();
  }
}

Deno.test("GroupCommit shares one commit between writes submitted together; each sees it committed", async () => {
  await withKv(async (kv) => {
    const writes = new GroupCommit(kv);
    const seen = await Promise.all(
      Array.from(
        { length: 20 },
        (_, i) =>
          writes.submit({ run: (tx) => tx.set(["k", i], i) }).then(async () =>
            (await kv.get(["k", i])).value
          ),
      ),
    );
    assertEquals(seen, Array.from({ length: 20 }, (_, i) => i), "committed before resolving");
    assertEquals(writes.stats.commits, 1);
    assertEquals(writes.stats.operations, 20);
  });
});

Deno.test("GroupCommit: reads see the earlier writes of the same batch", async () => {
  await withKv(async (kv) => {
    const writes = new GroupCommit(kv);
    const increment = () =>
      writes.submit({
        prefetch: [["n"]],
        run: async (tx) => {
          const n = (await tx.get<number>(["n"])) ?? 0;
          tx.set(["n"], n + 1);
          return n + 1;
        },
      });
    assertEquals(await Promise.all(Array.from({ length: 50 }, increment)), [
      ...Array.from({ length: 50 }, (_, i) => i + 1),
    ]);
    assertEquals((await kv.get(["n"])).value, 50);
  });
});

Deno.test("GroupCommit: an operation that throws leaves no writes and fails alone", async () => {
  await withKv(async (kv) => {
    const writes = new GroupCommit(kv);
    const results = await Promise.allSettled([
      writes.submit({ run: (tx) => tx.set(["a"], 1) }),
      writes.submit({
        run: (tx) => {
          tx.set(["b"], 1);
          tx.set(["a"], "overwritten by a failing write");
          throw new Error("refused");
        },
      }),
      writes.submit({ run: (tx) => tx.set(["c"], 1) }),
    ]);
    assertEquals(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
    assertEquals((await kv.get(["a"])).value, 1);
    assertEquals((await kv.get(["b"])).value, null);
    assertEquals((await kv.get(["c"])).value, 1);
  });
});

Deno.test("GroupCommit splits batches at Deno KV's per-commit limits", async () => {
  await withKv(async (kv) => {
    const writes = new GroupCommit(kv);
    // 300 × 10 mutations: more than 1,000 mutations; 300 × 4 KiB: more than 800 KiB.
    const big = "x".repeat(2048);
    await Promise.all(
      Array.from({ length: 300 }, (_, i) =>
        writes.submit({
          run: (tx) => {
            for (let k = 0; k < 10; k++) tx.set(["m", i, k], k === 0 ? big : k);
          },
        })),
    );
    // Split by the size budget, not by failed commits retried one write at a time.
    assert(
      writes.stats.commits >= 3 && writes.stats.commits <= 10,
      `${writes.stats.commits} commits`,
    );
    assertEquals(writes.stats.operations, 300);
    let n = 0;
    for await (const _ of kv.list({ prefix: ["m"] })) n++;
    assertEquals(n, 3000);
  });
});

Deno.test("GroupCommit: a commit that fails is retried write by write, failing only the bad one", async () => {
  await withKv(async (kv) => {
    const writes = new GroupCommit(kv);
    const results = await Promise.allSettled([
      writes.submit({ run: (tx) => tx.set(["ok", 1], 1) }),
      // Deno KV refuses values over 64 KiB at commit time.
      writes.submit({ run: (tx) => tx.set(["too-big"], new Uint8Array(70_000)) }),
      writes.submit({ run: (tx) => tx.set(["ok", 2], 2) }),
    ]);
    assertEquals(results.map((r) => r.status), ["fulfilled", "rejected", "fulfilled"]);
    assertEquals((await kv.get(["ok", 2])).value, 2);
    assertEquals((await kv.get(["too-big"])).value, null);
  });
});

Deno.test("GroupCommit runs `alone` writes in a batch of their own, in queue order", async () => {
  await withKv(async (kv) => {
    const writes = new GroupCommit(kv);
    const order: string[] = [];
    await Promise.all([
      writes.submit({ run: (tx) => void (order.push("a"), tx.set(["a"], 1)) }),
      writes.submit({ alone: true, run: (tx) => void (order.push("alone"), tx.set(["b"], 1)) }),
      writes.submit({ run: (tx) => void (order.push("c"), tx.set(["c"], 1)) }),
    ]);
    assertEquals(order, ["a", "alone", "c"]);
    assertEquals(writes.stats.commits, 3);
  });
});

Deno.test("GroupCommit.idle() waits for queued writes", async () => {
  await withKv(async (kv) => {
    const writes = new GroupCommit(kv);
    void writes.submit({ run: (tx) => tx.set(["late"], 1) });
    await writes.idle();
    assertEquals((await kv.get(["late"])).value, 1);
  });
});

Deno.test("GroupCommit.readMany() answers committed values; a read that overlaps a commit is not cached", async () => {
  await withKv(async (kv) => {
    const writes = new GroupCommit(kv);
    await kv.set(["k"], 1); // committed before the queue knew it: not cached
    const reading = writes.readMany<number>([["k"], ["missing"]]);
    const writing = writes.submit({ run: (tx) => tx.set(["k"], 2) });
    const [values] = await Promise.all([reading, writing]);
    assert(values[0] === 1 || values[0] === 2);
    assertEquals(values[1], null);
    assertEquals(await writes.readMany<number>([["k"], ["missing"]]), [2, null]);
    assertEquals((await kv.get(["k"])).value, 2);
  });
});

Deno.test("GroupCommit prepares the next batch while one commits, and again if that commit fails", async () => {
  await withKv(async (kv) => {
    const writes = new GroupCommit(kv);
    let second: Promise<unknown> | undefined;
    const first = await Promise.allSettled([
      writes.submit({ run: (tx) => tx.set(["a"], 1) }),
      writes.submit({
        run: (tx) => {
          tx.set(["flag"], 1);
          tx.set(["big"], new Uint8Array(70_000)); // refused at commit time
          // Queued while this batch commits: prepared on top of its writes.
          second ??= writes.submit({
            prefetch: [["flag"]],
            run: async (tx2) => tx2.set(["saw"], await tx2.get(["flag"]) ?? "nothing"),
          });
        },
      }),
    ]);
    await second;
    assertEquals(first.map((r) => r.status), ["fulfilled", "rejected"]);
    assertEquals((await kv.get(["a"])).value, 1);
    assertEquals((await kv.get(["flag"])).value, null);
    assertEquals((await kv.get(["saw"])).value, "nothing", "never saw a write that did not land");
  });
});

Deno.test("GroupCommit: a key expected absent is checked at commit, and read when it is there", async () => {
  await withKv(async (kv) => {
    const writes = new GroupCommit(kv);
    await kv.set(["client", "resent"], "original"); // e.g. written before a restart
    let runs = 0;
    const expect = (name: string) =>
      writes.submit({
        run: async (tx) => {
          if (name === "resent") runs++;
          const seen = await tx.getExpectingAbsent<string>(["client", name]);
          tx.set(["client", name], seen ?? `new ${name}`);
          return seen;
        },
      });
    assertEquals(await Promise.all([expect("a"), expect("resent"), expect("b")]), [
      null,
      "original",
      null,
    ]);
    assertEquals(runs, 2, "taken as absent, then read after the commit's check failed");
    assertEquals((await kv.get(["client", "a"])).value, "new a");
    assertEquals((await kv.get(["client", "resent"])).value, "original");
  });
});

Deno.test("GroupCommit keeps within Deno KV's 100 checks per commit", async () => {
  await withKv(async (kv) => {
    const writes = new GroupCommit(kv);
    await Promise.all(
      Array.from({ length: 250 }, (_, i) =>
        writes.submit({
          run: async (tx) => {
            await tx.getExpectingAbsent(["fresh", i]);
            tx.set(["fresh", i], i);
          },
        })),
    );
    assert(writes.stats.commits >= 3 && writes.stats.commits <= 5, `${writes.stats.commits}`);
    assertEquals((await kv.get(["fresh", 249])).value, 249);
  });
});
