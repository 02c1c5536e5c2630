/**
 * The store micro-bench, one round in its own process (so that its threads'
 * CPU is its own): what one delivered send costs the SQLite store, next to
 * what SQLite itself costs for the same rows, measured in the same run.
 *
 *   deno run -A bench/store_cost.ts '<StoreCostPlan as JSON>'
 *
 * 1. **store**: `openSqliteBackend` on a file; `senders` concurrent senders,
 *    each doing `chat.messages.insert` then `chat.messages.markDelivered` of
 *    that message (the insert and the delivery receipt of one delivered send)
 *    until `sends` are done. Wall µs per send at saturation (elapsed ÷ sends),
 *    this process's CPU per send by thread (/proc: the main thread, the SQLite
 *    worker, the rest), and the
 *    group commit as the main thread sees it (worker_probe.ts): the writes per
 *    batch posted to the writer worker, the batch's round trip (post → reply,
 *    i.e. the transaction and COMMIT), and the time `postMessage` (structured
 *    clone) takes.
 * 2. **sql**: the same operations (operations.ts `insertMessage` +
 *    `markDelivered`, the insert in a savepoint and the receipt without one, as
 *    the worker runs them) on this thread
 *    on a fresh file opened like the writer (`Sql.openWriter`), in
 *    transactions of the batch size seen in 1: the SQL's own cost, without
 *    workers and messages.
 * 3. **raw**: a bare `node:sqlite` `DatabaseSync` on a fresh file, WAL +
 *    `synchronous=FULL`, inserting message rows (the messages table and its
 *    four indexes from schema.ts) in transactions of the same batch size. The
 *    rows are inserted delivered (`delivered_at` set), as a delivered send
 *    leaves them: the partial `messages_undelivered` index holds no entry for
 *    them, as in the store, where the receipt removes the entry the insert
 *    made. (Rows left undelivered grow that index by one entry per row, spread
 *    over the receivers: that made a raw insert ~20 µs dearer here.)
 *
 * Prints one JSON line: a StoreCostReport.
 */
import { DatabaseSync } from "node:sqlite";
import type { ChatMessage } from "../src/protocol/types.ts";
import { writes } from "../src/store/sqlite/operations.ts";
import { openSqliteBackend } from "../src/store/sqlite/sqlite_backend.ts";
import { Sql } from "../src/store/sqlite/sql.ts";
import { type CpuSeconds, readCpuSeconds } from "./processes.ts";
import { summarize } from "./stats.ts";
import { type BatchStats, batchStats, installWorkerProbe } from "./worker_probe.ts";

export interface StoreCostPlan {
  /** Directory for the three fresh database files (and the backend's upload dir). */
  dir: string;
  senders: number;
  /** Timed sends (a send = insert + receipt). */
  sends: number;
  /** Untimed sends first (statements compiled, caches and the file warm). */
  warmup: number;
}

export interface StoreCostReport {
  store: {
    sends: number;
    errors: number;
    errorSamples: string[];
    elapsedMs: number;
    usPerSend: number;
    /**
     * CPU of this process per send, µs: the main (JS) thread, the SQLite
     * workers' threads (the writer; the reader is idle here), every other thread.
     */
    mainCpuUsPerSend: number;
    workerCpuUsPerSend: number;
    otherCpuUsPerSend: number;
    /** insert → receipt committed, per send, ms. */
    latency: { p50: number; p95: number; p99: number };
    /** The group commit's batches (worker_probe.ts). */
    batches: BatchStats;
  };
  sql: { sends: number; batchWrites: number; usPerSend: number; commitP50Ms: number };
  raw: { rows: number; batchRows: number; usPerRow: number; commitP50Ms: number };
}

// The probe must replace `Worker` before the backend starts its workers.
const probe = installWorkerProbe();
probe.enabled = false;

// ---------------------------------------------------------------- 1. the store

const cpuNow = (): Promise<CpuSeconds> => readCpuSeconds(Deno.pid);

async function storeCost(plan: StoreCostPlan): Promise<StoreCostReport["store"]> {
  const backend = await openSqliteBackend(`${plan.dir}/store.db`, {
    uploadDir: `${plan.dir}/uploads`,
  });
  const messages = backend.chat.messages;
  const latencies: number[] = [];
  const errorSamples: string[] = [];
  let errors = 0;
  let seq = 0;

  const drive = async (count: number, timed: boolean) => {
    let next = 0;
    const lane = async (sender: number) => {
      while (next < count) {
        next++;
        const n = seq++;
        const t0 = performance.now();
        try {
          const { message } = await messages.insert({
            senderId: `s${sender}`,
            receiverId: `r${sender}`,
            text: `bench message ${n}`,
            file: null,
            clientMessageId: `m${n}`,
          });
          await messages.markDelivered(message._id, new Date().toISOString());
          if (timed) latencies.push(performance.now() - t0);
        } catch (err) {
          errors++;
          if (errorSamples.length < 5) errorSamples.push(String(err));
        }
      }
    };
    await Promise.all(Array.from({ length: plan.senders }, (_, i) => lane(i)));
  };

  try {
    await drive(plan.warmup, false);
    errors = 0;
    probe.enabled = true;
    const before = await cpuNow();
    const t0 = performance.now();
    await drive(plan.sends, true);
    const elapsedMs = performance.now() - t0;
    const after = await cpuNow();
    probe.enabled = false;

    const b = batchStats(probe.traces);
    const perSend = (seconds: number) => (seconds * 1e6) / plan.sends;
    const lat = summarize(latencies);
    return {
      sends: plan.sends,
      errors,
      errorSamples,
      elapsedMs,
      usPerSend: (elapsedMs * 1000) / plan.sends,
      mainCpuUsPerSend: perSend(after.main - before.main),
      workerCpuUsPerSend: perSend(after.workers - before.workers),
      otherCpuUsPerSend: perSend(after.other - before.other),
      latency: { p50: lat.p50, p95: lat.p95, p99: lat.p99 },
      batches: b,
    };
  } finally {
    await backend.close();
  }
}

// ---------------------------------------------------------------- 2. the store's SQL alone

function message(n: number, senders: number): ChatMessage {
  const now = new Date().toISOString();
  const sender = n % senders;
  return {
    // Time-ordered ids like the store's ULIDs: a fixed-width counter.
    _id: `01SQL${String(n).padStart(21, "0")}`,
    senderId: `s${sender}`,
    receiverId: `r${sender}`,
    text: `bench message ${n}`,
    file: null,
    clientMessageId: `m${n}`,
    createdAt: now,
    updatedAt: now,
    deliveredAt: null,
    readAt: null,
    editedAt: null,
    reactions: [],
    replyTo: null,
  };
}

/** Runs `work` per op in transactions of `batch` ops; returns elapsed ms and commit p50. */
function batched(
  db: DatabaseSync,
  ops: number,
  batch: number,
  work: (i: number) => void,
): { elapsedMs: number; commitP50Ms: number } {
  const commits: number[] = [];
  const t0 = performance.now();
  for (let start = 0; start < ops; start += batch) {
    db.exec("BEGIN IMMEDIATE");
    for (let i = start; i < Math.min(ops, start + batch); i++) work(i);
    const c0 = performance.now();
    db.exec("COMMIT");
    commits.push(performance.now() - c0);
  }
  return { elapsedMs: performance.now() - t0, commitP50Ms: summarize(commits).p50 };
}

function sqlCost(plan: StoreCostPlan, batchWrites: number): StoreCostReport["sql"] {
  const sql = Sql.openWriter(`${plan.dir}/sql.db`);
  try {
    const run = (op: () => void) => {
      sql.db.exec("SAVEPOINT op");
      op();
      sql.db.exec("RELEASE op");
    };
    // Op 2i inserts message i, op 2i+1 is its receipt: the pattern of the store's batches.
    const send = (offset: number) => (op: number) => {
      const n = offset + (op >> 1);
      if (op % 2 === 0) run(() => writes.insertMessage(sql, { message: message(n, plan.senders) }));
      else {
        writes.markDelivered(sql, {
          messageId: message(n, plan.senders)._id,
          deliveredAt: new Date().toISOString(),
        });
      }
    };
    batched(sql.db, 2 * plan.warmup, batchWrites, send(0));
    const { elapsedMs, commitP50Ms } = batched(
      sql.db,
      2 * plan.sends,
      batchWrites,
      send(plan.warmup),
    );
    return {
      sends: plan.sends,
      batchWrites,
      usPerSend: (elapsedMs * 1000) / plan.sends,
      commitP50Ms,
    };
  } finally {
    sql.close();
  }
}

// ---------------------------------------------------------------- 3. raw SQLite

/** The messages table of schema.ts and its indexes, without the other tables. */
const RAW_SCHEMA = `
  CREATE TABLE messages (
    id                 TEXT NOT NULL UNIQUE,
    conversation_id    INTEGER NOT NULL,
    sender_id          TEXT NOT NULL,
    receiver_id        TEXT,
    text               TEXT,
    file               TEXT,
    client_message_id  TEXT,
    created_at         TEXT NOT NULL,
    updated_at         TEXT NOT NULL,
    delivered_at       TEXT,
    read_at            TEXT
  );
  CREATE INDEX messages_history ON messages (conversation_id, id);
  CREATE INDEX messages_undelivered ON messages (receiver_id, id) WHERE delivered_at IS NULL;
  CREATE UNIQUE INDEX messages_client_id ON messages (sender_id, client_message_id)
    WHERE client_message_id IS NOT NULL;
`;

function rawCost(plan: StoreCostPlan, batchRows: number): StoreCostReport["raw"] {
  const db = new DatabaseSync(`${plan.dir}/raw.db`);
  try {
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = FULL");
    db.exec(RAW_SCHEMA);
    const insert = db.prepare(
      `INSERT INTO messages (id, conversation_id, sender_id, receiver_id, text, file,
         client_message_id, created_at, updated_at, delivered_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    const row = (n: number) => {
      const m = message(n, plan.senders);
      insert.run(
        m._id,
        n % plan.senders,
        m.senderId,
        m.receiverId,
        m.text,
        null,
        m.clientMessageId,
        m.createdAt,
        m.updatedAt,
        m.createdAt,
      );
    };
    batched(db, plan.warmup, batchRows, row);
    const { elapsedMs, commitP50Ms } = batched(
      db,
      plan.sends,
      batchRows,
      (i) => row(plan.warmup + i),
    );
    return {
      rows: plan.sends,
      batchRows,
      usPerRow: (elapsedMs * 1000) / plan.sends,
      commitP50Ms,
    };
  } finally {
    db.close();
  }
}

export async function storeCostRound(plan: StoreCostPlan): Promise<StoreCostReport> {
  const store = await storeCost(plan);
  const batch = Math.max(1, Math.round(store.batches.meanWrites));
  // An even number of writes per transaction keeps each insert with its receipt.
  const sql = sqlCost(plan, Math.max(2, batch + (batch % 2)));
  const raw = rawCost(plan, batch);
  return { store, sql, raw };
}

if (import.meta.main) {
  const plan = JSON.parse(Deno.args[0] ?? "") as StoreCostPlan;
  console.log(JSON.stringify(await storeCostRound(plan)));
  Deno.exit(0);
}
