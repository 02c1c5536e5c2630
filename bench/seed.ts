/**
 * Fills a store for the history scenario through the repository API (the same
 * writes the server makes), with many inserts in flight so that the store's
 * batching is used. Run by bench/main.ts while no server has the store open:
 *
 *   deno run -A bench/seed.ts '<SeedPlan as JSON>'
 *
 * Prints one JSON line: a SeedReport.
 */
import type { StoreBackend } from "../src/store/backend.ts";
import type { ChatStore, NewMessage } from "../src/store/repository.ts";
import { openSqliteBackend } from "../src/store/sqlite/sqlite_backend.ts";
import type { StoreSpec } from "./processes.ts";

export interface SeedPlan {
  store: StoreSpec;
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

/** The backend the server will open on the same store (the Mongo driver loads only when used). */
async function openStore(plan: SeedPlan): Promise<StoreBackend> {
  const store = plan.store;
  if (store.kind === "sqlite") {
    return await openSqliteBackend(store.path, { uploadDir: store.uploadDir });
  }
  const { openMongoBackend } = await import("../src/store/mongo/mongo_backend.ts");
  return await openMongoBackend(store.uri, store.db);
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
  const backend = await openStore(plan);
  const store = backend.chat;
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
    await backend.close();
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
