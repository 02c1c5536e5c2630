/**
 * What a search costs on the SQLite store as the store grows (the `search`
 * scenario of bench/main.ts; issue 18's target: p99 ≤ 20 ms over 1,000,000
 * messages). One size per process (so that its threads' CPU is its own):
 *
 *   deno run -A bench/search_cost.ts '<SearchCostPlan as JSON>'
 *
 * Fills a fresh database file with the writer's own insert operation
 * (operations.ts, search triggers included) in transactions of 1,000 on this
 * thread, which is faster than the repository's group commit and leaves the
 * same rows; then opens the backend and times `messages.search` from many
 * users, one after another, as the REST route calls it (one read through the
 * reader worker each), `rounds` times over the same store.
 *
 * Texts are 8 words drawn from a 20,000-word vocabulary with Zipf frequencies
 * (the commonest word is in about 1 message in 3), so queries meet both long
 * and short posting lists; each user talks to about 20 partners. Query kinds:
 * one to three words of one of the user's own messages (a hit), a single
 * common word, two common words (many hits beyond the page of 20), and a
 * single common word in the conversation with one partner (`with`).
 * Prints one JSON line: a SearchCostReport.
 */
import { monotonicFactory } from "ulid";
import type { ChatStore } from "../src/store/repository.ts";
import { writes } from "../src/store/sqlite/operations.ts";
import { openSqliteBackend } from "../src/store/sqlite/sqlite_backend.ts";
import { Sql } from "../src/store/sqlite/sql.ts";
import { type BenchContext, type Measurement, runChild, type ScenarioResult } from "./scenarios.ts";
import { summarize } from "./stats.ts";

export interface SearchCostPlan {
  /** The database file (created fresh, removed at the end). */
  path: string;
  messages: number;
  users: number;
  /** Timed queries per kind and round. */
  queries: number;
  rounds: number;
}

export const QUERY_KINDS = {
  ownWords: "1–3 words of an own message",
  commonWord: "one common word",
  commonPair: "two common words",
  commonWith: "one common word, with one partner",
} as const;
type QueryKind = keyof typeof QUERY_KINDS;

export interface QueryRound {
  p50: number;
  p95: number;
  p99: number;
  queriesPerSecond: number;
  /** Messages answered per query (the page is 20). */
  meanHits: number;
}

export interface SearchCostReport {
  messages: number;
  users: number;
  /** Messages stored per second while seeding (one thread, transactions of 1,000). */
  seedPerSecond: number;
  /** The database file's size after seeding. */
  fileMiB: number;
  rounds: Record<QueryKind, QueryRound>[];
}

const VOCABULARY = 20_000;
const WORDS_PER_MESSAGE = 8;
const PARTNERS = 20;
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

/** Fills the database; answers a few texts of each user, to search for later. */
function seed(plan: SearchCostPlan): { texts: Map<string, string[]>; perSecond: number } {
  const texts = new Map<string, string[]>();
  const nextId = monotonicFactory();
  const sql = Sql.openWriter(plan.path);
  const started = performance.now();
  try {
    for (let i = 0; i < plan.messages; i++) {
      if (i % 1000 === 0) sql.db.exec("BEGIN IMMEDIATE");
      const from = Math.floor(next() * plan.users);
      const to = (from + 1 + Math.floor(next() * PARTNERS)) % plan.users;
      const text = Array.from({ length: WORDS_PER_MESSAGE }, zipfWord).join(" ");
      const now = new Date().toISOString();
      writes.insertMessage(sql, {
        message: {
          _id: nextId(),
          senderId: user(from),
          receiverId: user(to),
          groupId: null,
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
      if (i % 1000 === 999 || i === plan.messages - 1) sql.db.exec("COMMIT");
      // The writer leaves checkpoints to the server's checkpointer: here, every 50,000.
      if (i % 50_000 === 49_999) sql.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      const kept = texts.get(user(from)) ?? [];
      if (kept.length < 5 && next() < 0.01) texts.set(user(from), [...kept, text]);
      if (i % 100_000 === 0 && i > 0) console.error(`  seeded ${i}`);
    }
    sql.db.exec("PRAGMA wal_checkpoint(TRUNCATE)");
  } finally {
    sql.close();
  }
  return { texts, perSecond: plan.messages / ((performance.now() - started) / 1000) };
}

async function timeQueries(
  store: ChatStore,
  queries: { userId: string; q: string; with?: string }[],
): Promise<QueryRound> {
  const samples: number[] = [];
  let hits = 0;
  const started = performance.now();
  for (const { userId, q, with: partner } of queries) {
    const t0 = performance.now();
    hits += (await store.messages.search(userId, q, { limit: PAGE, with: partner })).length;
    samples.push(performance.now() - t0);
  }
  const { p50, p95, p99 } = summarize(samples);
  return {
    p50,
    p95,
    p99,
    queriesPerSecond: queries.length / ((performance.now() - started) / 1000),
    meanHits: hits / queries.length,
  };
}

/** Seeds one store and times every query kind `rounds` times over it. */
export async function measureSearch(plan: SearchCostPlan): Promise<SearchCostReport> {
  const files = [plan.path, `${plan.path}-wal`, `${plan.path}-shm`];
  for (const file of files) await Deno.remove(file).catch(() => {});
  const uploadDir = await Deno.makeTempDir({ prefix: "parley-search-bench-" });
  try {
    const { texts, perSecond } = seed(plan);
    const fileMiB = (await Deno.stat(plan.path)).size / 2 ** 20;
    const backend = await openSqliteBackend(plan.path, { uploadDir });
    try {
      const users = [...texts.keys()];
      const queries: Record<QueryKind, { userId: string; q: string; with?: string }[]> = {
        ownWords: Array.from({ length: plan.queries }, () => {
          const userId = users[Math.floor(next() * users.length)]!;
          const list = texts.get(userId)!;
          const text = list[Math.floor(next() * list.length)]!.split(" ");
          return { userId, q: text.slice(0, 1 + Math.floor(next() * 3)).join(" ") };
        }),
        commonWord: Array.from({ length: plan.queries }, (_, i) => ({
          userId: user(Math.floor(next() * plan.users)),
          q: words[i % 10]!,
        })),
        commonPair: Array.from({ length: plan.queries }, (_, i) => ({
          userId: user(Math.floor(next() * plan.users)),
          q: `${words[i % 10]} ${words[10 + (i % 40)]}`,
        })),
        // One conversation of about 2 × messages ÷ users ÷ 20: the partner's keys and the
        // conversation narrow the user's own.
        commonWith: Array.from({ length: plan.queries }, (_, i) => {
          const from = Math.floor(next() * plan.users);
          const partner = (from + 1 + Math.floor(next() * PARTNERS)) % plan.users;
          return { userId: user(from), q: words[i % 10]!, with: user(partner) };
        }),
      };
      await timeQueries(backend.chat, queries.ownWords.slice(0, 100)); // the page cache warm
      const rounds: Record<QueryKind, QueryRound>[] = [];
      for (let round = 0; round < plan.rounds; round++) {
        rounds.push({
          ownWords: await timeQueries(backend.chat, queries.ownWords),
          commonWord: await timeQueries(backend.chat, queries.commonWord),
          commonPair: await timeQueries(backend.chat, queries.commonPair),
          commonWith: await timeQueries(backend.chat, queries.commonWith),
        });
      }
      return {
        messages: plan.messages,
        users: plan.users,
        seedPerSecond: perSecond,
        fileMiB,
        rounds,
      };
    } finally {
      await backend.close();
    }
  } finally {
    await Deno.remove(uploadDir, { recursive: true }).catch(() => {});
    for (const file of files) await Deno.remove(file).catch(() => {});
  }
}

export interface SearchOptions {
  /** Store sizes, messages: one fresh store (and child process) each. */
  sizes: number[];
  users: number;
  queries: number;
}

/**
 * The `search` scenario: one row per size and query kind, a Measurement per
 * round (throughput: sequential queries per second). SQLite only: the
 * MongoDB store searches by word keys of its own.
 */
export async function searchCost(ctx: BenchContext, o: SearchOptions): Promise<ScenarioResult[]> {
  if (ctx.store.kind !== "sqlite") {
    ctx.log("  skipped: the search bench measures the SQLite backend (--store sqlite)");
    return [];
  }
  const results: ScenarioResult[] = [];
  for (const messages of o.sizes) {
    const plan: SearchCostPlan = {
      path: `${ctx.tmpDir}/search-${messages}.db`,
      messages,
      users: o.users,
      queries: o.queries,
      rounds: ctx.rounds,
    };
    const r = await runChild<SearchCostReport>("./search_cost.ts", plan, "search bench");
    for (const kind of Object.keys(QUERY_KINDS) as QueryKind[]) {
      const rounds = r.rounds.map((round): Measurement => ({
        throughput: round[kind].queriesPerSecond,
        p50: round[kind].p50,
        p95: round[kind].p95,
        p99: round[kind].p99,
        errors: 0,
        lost: 0,
        duplicates: 0,
        extra: {
          searchMessages: messages,
          meanHits: round[kind].meanHits,
          seedPerSecond: r.seedPerSecond,
          fileMiB: r.fileMiB,
        },
        errorSamples: [],
      }));
      results.push({
        scenario: "search",
        variant: `${messages} msgs, ${QUERY_KINDS[kind]}`,
        target: "parley",
        rounds,
      });
      ctx.log(
        `  ${messages} messages, ${QUERY_KINDS[kind]}: p99 ${
          rounds.map((m) => m.p99.toFixed(2)).join(" / ")
        } ms (seeded ${r.seedPerSecond.toFixed(0)}/s)`,
      );
    }
  }
  return results;
}

if (import.meta.main) {
  const plan = JSON.parse(Deno.args[0] ?? "null") as SearchCostPlan | null;
  if (plan === null) {
    console.error("usage: deno run -A bench/search_cost.ts '<SearchCostPlan as JSON>'");
    Deno.exit(2);
  }
  console.log(JSON.stringify(await measureSearch(plan)));
}
