/**
 * What a search costs on the SQLite store (FTS5) as the store grows: fills a
 * database with the writer's own insert operation (operations.ts, FTS
 * triggers included) in transactions of 1,000 on this thread, which is faster
 * than the repository's group commit and leaves the same rows; then opens the
 * backend and times `messages.search` from many users, as the REST route
 * would call it (one read through the reader worker each).
 *
 *   deno run -A bench/search_cost.ts [--messages 1000000] [--users 1000] [--queries 2000]
 *     [--path /tmp/parley-search.db] [--keep]
 *
 * Texts are 8 words drawn from a 20,000-word vocabulary with Zipf frequencies
 * (the commonest word is in about 1 message in 3), so queries meet both long
 * and short posting lists. Queries: one to three words of one of the user's
 * own messages (a hit), and single common words (many hits beyond the page).
 * Prints one JSON line: seeding rate, then latency percentiles per query kind.
 */
import { parseArgs } from "node:util";
import { monotonicFactory } from "ulid";
import type { ChatStore } from "../src/store/repository.ts";
import { writes } from "../src/store/sqlite/operations.ts";
import { openSqliteBackend } from "../src/store/sqlite/sqlite_backend.ts";
import { Sql } from "../src/store/sqlite/sql.ts";

const { values: flags } = parseArgs({
  options: {
    messages: { type: "string", default: "1000000" },
    users: { type: "string", default: "1000" },
    queries: { type: "string", default: "2000" },
    path: { type: "string", default: "/tmp/parley-search-bench.db" },
    keep: { type: "boolean", default: false },
  },
});
const MESSAGES = Number(flags.messages);
const USERS = Number(flags.users);
const QUERIES = Number(flags.queries);
const VOCABULARY = 20_000;
const WORDS_PER_MESSAGE = 8;
const PAGE = 20;

/** A seeded generator, so that runs compare. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6D2B79F5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const next = random(18);
const words = Array.from({ length: VOCABULARY }, (_, i) => `word${i.toString(36)}`);
// Zipf: rank r drawn with probability ∝ 1/r, by inverting the cumulative sums.
const cumulative: number[] = [];
let total = 0;
for (let r = 1; r <= VOCABULARY; r++) cumulative.push(total += 1 / r);
function zipfWord(): string {
  const target = next() * total;
  let lo = 0;
  let hi = VOCABULARY - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (cumulative[mid]! < target) lo = mid + 1;
    else hi = mid;
  }
  return words[lo]!;
}
const user = (i: number) => `user${i}`;

function percentiles(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
  const round = (ms: number) => Math.round(ms * 100) / 100;
  return { n: sorted.length, p50: round(at(0.5)), p95: round(at(0.95)), p99: round(at(0.99)) };
}

/** Fills the database; resolves with a few texts of each user, to search for later. */
function seed(path: string): { texts: Map<string, string[]>; perSecond: number } {
  const texts = new Map<string, string[]>();
  const nextId = monotonicFactory();
  const sql = Sql.openWriter(path);
  const started = performance.now();
  try {
    for (let i = 0; i < MESSAGES; i++) {
      if (i % 1000 === 0) sql.db.exec("BEGIN IMMEDIATE");
      const from = Math.floor(next() * USERS);
      // Each user talks to about 20 partners.
      const to = (from + 1 + Math.floor(next() * 20)) % USERS;
      const text = Array.from({ length: WORDS_PER_MESSAGE }, zipfWord).join(" ");
      const now = new Date().toISOString();
      writes.insertMessage(sql, {
        message: {
          _id: nextId(),
          senderId: user(from),
          receiverId: user(to),
          text,
          file: null,
          clientMessageId: null,
          createdAt: now,
          updatedAt: now,
          deliveredAt: null,
          readAt: null,
          editedAt: null,
          reactions: [],
          replyTo: null,
        },
      });
      if (i % 1000 === 999 || i === MESSAGES - 1) sql.db.exec("COMMIT");
      // The writer leaves checkpoints to the server's checkpointer: here, every 50,000.
      if (i % 50_000 === 49_999) sql.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      const kept = texts.get(user(from)) ?? [];
      if (kept.length < 5 && next() < 0.01) texts.set(user(from), [...kept, text]);
      if (i % 100_000 === 0 && i > 0) console.error(`seeded ${i}`);
    }
    sql.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  } finally {
    sql.close();
  }
  return { texts, perSecond: Math.round(MESSAGES / ((performance.now() - started) / 1000)) };
}

async function timeQueries(
  store: ChatStore,
  queries: { userId: string; q: string }[],
): Promise<{ latency: ReturnType<typeof percentiles>; meanHits: number }> {
  const samples: number[] = [];
  let hits = 0;
  for (const { userId, q } of queries) {
    const started = performance.now();
    hits += (await store.messages.search(userId, q, { limit: PAGE })).length;
    samples.push(performance.now() - started);
  }
  return { latency: percentiles(samples), meanHits: Math.round(hits / queries.length * 10) / 10 };
}

await Deno.remove(flags.path, { recursive: true }).catch(() => {});
const uploadDir = await Deno.makeTempDir({ prefix: "parley-search-bench-" });
const { texts, perSecond } = seed(flags.path);
const backend = await openSqliteBackend(flags.path, { uploadDir });
try {
  const users = [...texts.keys()];
  const own = Array.from({ length: QUERIES }, () => {
    const userId = users[Math.floor(next() * users.length)]!;
    const list = texts.get(userId)!;
    const text = list[Math.floor(next() * list.length)]!.split(" ");
    const count = 1 + Math.floor(next() * 3);
    return { userId, q: text.slice(0, count).join(" ") };
  });
  const common = Array.from({ length: QUERIES }, (_, i) => ({
    userId: user(Math.floor(next() * USERS)),
    q: words[i % 10]!,
  }));
  // Two common words: long posting lists whose intersection the user's token narrows.
  const commonPairs = Array.from({ length: QUERIES }, (_, i) => ({
    userId: user(Math.floor(next() * USERS)),
    q: `${words[i % 10]} ${words[10 + (i % 40)]}`,
  }));
  await timeQueries(backend.chat, own.slice(0, 100)); // warm the page cache
  console.log(JSON.stringify({
    messages: MESSAGES,
    users: USERS,
    seedPerSecond: perSecond,
    ownWords: await timeQueries(backend.chat, own),
    commonWord: await timeQueries(backend.chat, common),
    commonPair: await timeQueries(backend.chat, commonPairs),
  }));
} finally {
  await backend.close();
  await Deno.remove(uploadDir, { recursive: true });
  if (!flags.keep) {
    for (const file of [flags.path, `${flags.path}-wal`, `${flags.path}-shm`]) {
      await Deno.remove(file).catch(() => {});
    }
  }
}
