/**
 * Fills a store for the history scenario through the repository API (the same
 * writes the server makes), with many inserts in flight so that the store's
 * batching is used. Run by bench/main.ts while no server has the store open:
 *
 *   deno run -A bench/seed.ts '<SeedPlan as JSON>'
 *
 * Prints one JSON line: a SeedReport.
 */
import { openKvStore } from "../src/store/kv/kv_store.ts";
import type { ChatStore, NewMessage } from "../src/store/repository.ts";

export interface SeedPlan {
  store: { kind: "kv"; path: string } | { kind: "mongo"; uri: string; db: string };
  /** One conversation per entry: `count` messages from `from` to `to`. */
  conversations: { from: string; to: string; count: number }[];
  /** One user per entry, with one message to each of `partners` partners. */
  partnerLists: { user: string; partners: number; partnerPrefix: string }[];
  /** Inserts in flight at once. */
  concurrency: number;
  /** Message ids kept per conversation, evenly spread, for `before` cursors. */
  samples: number;
}

export interface SeedReport {
  messages: number;
  elapsedMs: number;
  perSecond: number;
  /** `${from}|${to}` → sampled message ids of that conversation. */
  samples: Record<string, string[]>;
}

async function openStore(plan: SeedPlan): Promise<ChatStore> {
  if (plan.store.kind === "kv") return await openKvStore(plan.store.path);
  const { openMongoStore } = await import("../src/store/mongo/mongo_store.ts");
  return await openMongoStore(plan.store.uri, plan.store.db);
}

/** Runs `count` inserts with at most `concurrency` in flight; `onId` sees each new id. */
async function insertMany(
  store: ChatStore,
  count: number,
  concurrency: number,
  draft: (i: number) => NewMessage,
  onId: (i: number, id: string) => void,
): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < count) {
      const i = next++;
      const { message } = await store.messages.insert(draft(i));
      onId(i, message._id);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, lane));
}

export async function seed(plan: SeedPlan): Promise<SeedReport> {
  const store = await openStore(plan);
  const samples: Record<string, string[]> = {};
  const started = performance.now();
  let messages = 0;
  try {
    for (const { from, to, count } of plan.conversations) {
      const every = Math.max(1, Math.floor(count / plan.samples));
      const ids: string[] = [];
      await insertMany(
        store,
        count,
        plan.concurrency,
        (i) => ({
          senderId: from,
          receiverId: to,
          text: `seed ${i}`,
          file: null,
          clientMessageId: null,
        }),
        (i, id) => {
          // Deep pages only: a cursor needs at least one full page before it.
          if (i % every === 0 && i >= 200) ids.push(id);
        },
      );
      samples[`${from}|${to}`] = ids;
      messages += count;
    }
    for (const { user, partners, partnerPrefix } of plan.partnerLists) {
      await insertMany(
        store,
        partners,
        plan.concurrency,
        (i) => ({
          senderId: user,
          receiverId: `${partnerPrefix}${i}`,
          text: `hello ${i}`,
          file: null,
          clientMessageId: null,
        }),
        () => {},
      );
      messages += partners;
    }
  } finally {
    await store.close();
  }
  const elapsedMs = performance.now() - started;
  return { messages, elapsedMs, perSecond: (messages / elapsedMs) * 1000, samples };
}

if (import.meta.main) {
  const plan = JSON.parse(Deno.args[0] ?? "") as SeedPlan;
  const report = await seed(plan);
  console.log(JSON.stringify(report));
  Deno.exit(0);
}
