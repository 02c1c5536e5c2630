/**
 * The bench's scenarios. Each runs against the bare relay (the baseline) and
 * Parley in the same run, rounds alternating between the two so that load
 * from elsewhere on the machine hits both alike, and reports one Measurement
 * per round.
 */
import type { Job, JobResult, TargetKind } from "./jobs.ts";
import {
  type CpuSeconds,
  readMachineCpu,
  runWorkers,
  type ServerProcess,
  startServer,
  type StoreSpec,
  Worker,
} from "./processes.ts";
import type { SeedPlan, SeedReport } from "./seed.ts";
import type { StoreCostPlan, StoreCostReport } from "./store_cost.ts";
import { batchStats } from "./worker_probe.ts";
import {
  type Buckets,
  type LoopDelay,
  quantileBoundMs,
  readSendBuckets,
  watchLoopDelay,
} from "./server_metrics.ts";
import { summarize } from "./stats.ts";

/** One round of one scenario against one target. */
export interface Measurement {
  /** Per second: messages delivered, requests answered or connections made. */
  throughput: number;
  p50: number;
  p95: number;
  p99: number;
  errors: number;
  lost: number;
  duplicates: number;
  /** Scenario-specific figures (times in ms, sizes in KiB). */
  extra: Record<string, number>;
  errorSamples: string[];
}

export interface ScenarioResult {
  scenario: string;
  /** A sub-case, e.g. the size of the conversation. */
  variant: string;
  /** The server measured, or `sqlite`: SQLite itself, in the store micro-bench. */
  target: TargetKind | "sqlite";
  rounds: Measurement[];
}

export type StoreChoice = { kind: "sqlite" } | { kind: "mongo"; uri: string };

export interface BenchContext {
  secret: string;
  store: StoreChoice;
  /** Fresh temp directory for the SQLite files (and upload directories) of the servers. */
  tmpDir: string;
  rounds: number;
  workers: number;
  /** Directory for the Parley server's `--cpu-prof` output, when profiling. */
  cpuProfDir?: string;
  /** Record the Parley server's SQLite write batches over each measured phase (store_probe.ts). */
  probeStore?: boolean;
  log(line: string): void;
  /** Mongo database names used, to drop at the end. */
  mongoDbs: string[];
}

let storeSeq = 0;
let probeSeq = 0;

/** A fresh, empty store for one Parley server. */
function freshStore(ctx: BenchContext): StoreSpec {
  storeSeq++;
  if (ctx.store.kind === "sqlite") {
    // A file on the machine's disk (WAL, synchronous=FULL), as in production: not :memory:.
    return {
      kind: "sqlite",
      path: `${ctx.tmpDir}/parley-${storeSeq}.db`,
      uploadDir: `${ctx.tmpDir}/uploads-${storeSeq}`,
    };
  }
  const db = `parley_bench_${Date.now()}_${storeSeq}`;
  ctx.mongoDbs.push(db);
  return { kind: "mongo", uri: ctx.store.uri, db };
}

async function start(
  ctx: BenchContext,
  target: TargetKind,
  store?: StoreSpec,
): Promise<ServerProcess> {
  return await startServer({
    kind: target,
    secret: ctx.secret,
    store: target === "parley" ? store ?? freshStore(ctx) : undefined,
    cpuProfDir: target === "parley" ? ctx.cpuProfDir : undefined,
    storeProbeFile: target === "parley" && ctx.probeStore && ctx.store.kind === "sqlite"
      ? `${ctx.tmpDir}/store-probe-${++probeSeq}.json`
      : undefined,
  });
}

export async function withServer<T>(
  ctx: BenchContext,
  target: TargetKind,
  fn: (server: ServerProcess) => Promise<T>,
  store?: StoreSpec,
): Promise<T> {
  const server = await start(ctx, target, store);
  try {
    return await fn(server);
  } catch (err) {
    const tail = server.output().slice(-3000);
    throw new Error(
      `${err instanceof Error ? err.message : err}\n--- ${target} output ---\n${tail}`,
    );
  } finally {
    await server.stop();
  }
}

/** Merges the workers' answers of one round. */
export function measure(results: JobResult[], extra: Record<string, number> = {}): Measurement {
  const startedAt = Math.min(...results.map((r) => r.startedAt));
  const endedAt = Math.max(...results.map((r) => r.endedAt));
  const received = results.reduce((n, r) => n + r.received, 0);
  const lat = summarize(results.flatMap((r) => r.latencies));
  const seconds = Math.max(endedAt - startedAt, 1) / 1000;
  return {
    throughput: received / seconds,
    p50: lat.p50,
    p95: lat.p95,
    p99: lat.p99,
    errors: results.reduce((n, r) => n + r.errors, 0),
    lost: results.reduce((n, r) => n + r.lost, 0),
    duplicates: results.reduce((n, r) => n + r.duplicates, 0),
    extra: { received, acked: results.reduce((n, r) => n + r.acked, 0), ...extra },
    errorSamples: results.flatMap((r) => r.errorSamples).slice(0, 5),
  };
}

/**
 * Runs the jobs (all ready, then all go at once) and adds the server's CPU use
 * from "go" to the last answer, in % of one core: the JS thread, the SQLite
 * writer and reader workers, and the other threads (GC helpers, I/O). For Parley, also
 * its own sendMessage → ack time and its event-loop delay (how late a 10 ms timer on its
 * JavaScript thread fired) over the same span, read at the end from its /metrics
 * (server_metrics.ts).
 */
export async function runMeasured(
  server: ServerProcess,
  target: TargetKind,
  jobs: Job[],
): Promise<Measurement> {
  const workers = jobs.map((job) => new Worker(job));
  const sendBuckets = (): Promise<Buckets | undefined> =>
    target === "parley" ? readSendBuckets(server.url) : Promise.resolve(undefined);
  try {
    await Promise.all(workers.map((w) => w.next("ready")));
    const bucketsBefore = await sendBuckets();
    const before: CpuSeconds = await server.cpuSeconds();
    const machineBefore = await readMachineCpu();
    const loop = target === "parley" ? watchLoopDelay(server.url) : undefined;
    const startedAt = Date.now();
    const t0 = performance.now();
    await Promise.all(workers.map((w) => w.send("go")));
    const results = await Promise.all(workers.map((w) => w.result()));
    const after = await server.cpuSeconds();
    const machineAfter = await readMachineCpu();
    const seconds = (performance.now() - t0) / 1000;
    const loadCpu = results.reduce((n, r) => n + r.cpuSeconds, 0);
    const machineBusy = machineAfter.busy - machineBefore.busy;
    const machineTotal = machineBusy + machineAfter.idle - machineBefore.idle;
    const endedAt = Date.now();
    const loopDelay: Partial<LoopDelay> = (await loop?.stop()) ?? {};
    const traces = await server.storeBatches();
    const batches = traces &&
      batchStats(traces.filter((t) => t.at >= startedAt && t.at <= endedAt));
    const bucketsAfter = await sendBuckets();
    const serverAck: Record<string, number> = bucketsBefore && bucketsAfter
      ? {
        serverAckP50Ms: quantileBoundMs(bucketsBefore, bucketsAfter, 0.5),
        serverAckP99Ms: quantileBoundMs(bucketsBefore, bucketsAfter, 0.99),
      }
      : {};
    return measure(results, {
      cpuMainPct: (100 * (after.main - before.main)) / seconds,
      cpuWorkersPct: (100 * (after.workers - before.workers)) / seconds,
      cpuOtherPct: (100 * (after.other - before.other)) / seconds,
      loadCpuPct: (100 * loadCpu) / seconds,
      // Everything else the machine ran meanwhile: other people's work, the kernel, this process.
      elsewhereCpuPct: (100 * (machineBusy - loadCpu - (after.main - before.main) -
        (after.workers - before.workers) - (after.other - before.other))) / seconds,
      machineBusyPct: machineTotal > 0 ? (100 * machineBusy) / machineTotal : NaN,
      ...serverAck,
      ...loopDelay,
      ...(batches && {
        storeBatchMeanWrites: batches.meanWrites,
        storeBatchP99Writes: batches.p99Writes,
        storeBatchMaxWrites: batches.maxWrites,
        storeRoundTripP50Ms: batches.roundTripP50Ms,
        storeRoundTripP99Ms: batches.roundTripP99Ms,
        storeRoundTripMaxMs: batches.roundTripMaxMs,
        storePostUsPerWrite: batches.postUsPerWrite,
        storeDrainP50Ms: batches.drainP50Ms,
        storeDrainP99Ms: batches.drainP99Ms,
        storeDrainMaxMs: batches.drainMaxMs,
      }),
    });
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
}

/** Splits `total` into `parts` near-equal whole numbers. */
export function split(total: number, parts: number): number[] {
  return Array.from({ length: parts }, (_, i) => Math.floor((total + i) / parts));
}

const TARGETS: TargetKind[] = ["relay", "parley"];

export async function roundsOf(
  ctx: BenchContext,
  scenario: string,
  variant: string,
  run: (target: TargetKind, round: number) => Promise<Measurement>,
): Promise<ScenarioResult[]> {
  const results = TARGETS.map((target) => ({
    scenario,
    variant,
    target,
    rounds: [] as Measurement[],
  }));
  for (let round = 0; round < ctx.rounds; round++) {
    for (const [i, target] of TARGETS.entries()) {
      const m = await run(target, round);
      results[i]!.rounds.push(m);
      ctx.log(
        `  ${scenario} ${variant} ${target} round ${round + 1}/${ctx.rounds}: ` +
          `${m.throughput.toFixed(0)}/s p50 ${m.p50.toFixed(1)} p99 ${m.p99.toFixed(1)} ms, ` +
          `errors ${m.errors}, lost ${m.lost}` +
          (m.extra.eventLoopDelayP99Ms === undefined
            ? ""
            : `, server event-loop delay p99 ${m.extra.eventLoopDelayP99Ms.toFixed(1)} ms`) +
          (m.errorSamples.length ? ` (${m.errorSamples[0]})` : ""),
      );
    }
  }
  return results;
}

// ---------------------------------------------------------------- burst

export interface BurstOptions {
  clients: number;
  messages: number;
  window: number;
}

export function burst(ctx: BenchContext, o: BurstOptions): Promise<ScenarioResult[]> {
  const variant = `${o.clients} clients, ${o.messages} msgs`;
  return roundsOf(
    ctx,
    "burst",
    variant,
    (target, round) =>
      withServer(ctx, target, async (server) => {
        const pairs = split(o.clients / 2, ctx.workers).filter((p) => p > 0);
        const jobs: Job[] = pairs.map((p, w) => ({
          kind: "burst",
          url: server.url,
          target,
          secret: ctx.secret,
          prefix: `b${round}w${w}u`,
          timeoutMs: 30_000,
          pairs: p,
          messagesPerClient: Math.ceil(o.messages / o.clients),
          window: o.window,
        }));
        return await runMeasured(server, target, jobs);
      }),
  );
}

// ---------------------------------------------------------------- steady

export interface SteadyOptions {
  clients: number;
  rate: number;
  durationS: number;
}

export function steady(ctx: BenchContext, o: SteadyOptions): Promise<ScenarioResult[]> {
  const variant = `${o.clients} clients, ${o.rate} msg/s, ${o.durationS} s`;
  return roundsOf(
    ctx,
    "steady",
    variant,
    (target, round) =>
      withServer(ctx, target, async (server) => {
        const pairs = split(o.clients / 2, ctx.workers).filter((p) => p > 0);
        const jobs: Job[] = pairs.map((p, w) => ({
          kind: "steady",
          url: server.url,
          target,
          secret: ctx.secret,
          prefix: `s${round}w${w}u`,
          timeoutMs: 30_000,
          pairs: p,
          rate: (o.rate * p * 2) / o.clients,
          durationMs: o.durationS * 1000,
        }));
        return await runMeasured(server, target, jobs);
      }),
  );
}

// ---------------------------------------------------------------- connect storm

export interface ConnectOptions {
  clients: number;
  /** Quiet time before the baseline RSS reading and before the first reading after the storm. */
  settleMs: number;
  /**
   * Idle time after the storm before the RSS that counts is read: V8 returns
   * the storm's garbage to the OS only after some idle seconds (about 20 here).
   */
  idleMs: number;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** RSS after a quiet moment: the median of a few readings. */
async function quietRss(server: ServerProcess, settleMs: number): Promise<number> {
  await sleep(settleMs);
  const readings: number[] = [];
  for (let i = 0; i < 5; i++) {
    readings.push(await server.rssKiB());
    await sleep(200);
  }
  return readings.sort((a, b) => a - b)[2]!;
}

async function connectJobs(
  ctx: BenchContext,
  server: ServerProcess,
  target: TargetKind,
  clients: number,
  prefix: string,
): Promise<Worker[]> {
  const counts = split(clients, ctx.workers).filter((c) => c > 0);
  const workers = counts.map((c, w) =>
    new Worker({
      kind: "connect",
      url: server.url,
      target,
      secret: ctx.secret,
      prefix: `${prefix}w${w}u`,
      timeoutMs: 60_000,
      clients: c,
      concurrency: c, // all at once
    })
  );
  await Promise.all(workers.map((w) => w.next("ready")));
  return workers;
}

export function connectStorm(ctx: BenchContext, o: ConnectOptions): Promise<ScenarioResult[]> {
  return roundsOf(
    ctx,
    "connect",
    `${o.clients} clients`,
    (target, round) =>
      withServer(ctx, target, async (server) => {
        // Warm-up: the first connections load code paths that idle connections do not cost.
        const warm = await connectJobs(ctx, server, target, 50, `cw${round}`);
        await Promise.all(warm.map((w) => w.send("go")));
        await Promise.all(warm.map((w) => w.result()));
        await Promise.all(warm.map((w) => w.send("stop")));
        await Promise.all(warm.map((w) => w.close()));

        const workers = await connectJobs(ctx, server, target, o.clients, `c${round}`);
        const before = await quietRss(server, o.settleMs);
        try {
          await Promise.all(workers.map((w) => w.send("go")));
          const results = await Promise.all(workers.map((w) => w.result()));
          const startedAt = Math.min(...results.map((r) => r.startedAt));
          const endedAt = Math.max(...results.map((r) => r.endedAt));
          const soon = await quietRss(server, o.settleMs);
          const idle = await quietRss(server, Math.max(0, o.idleMs - o.settleMs - 1000));
          const connected = results.reduce((n, r) => n + r.received, 0);
          return measure(results, {
            timeToAllMs: endedAt - startedAt,
            rssBeforeKiB: before,
            rssSoonKiB: soon,
            rssIdleKiB: idle,
            rssPerConnectionSoonKiB: connected > 0 ? (soon - before) / connected : NaN,
            rssPerConnectionKiB: connected > 0 ? (idle - before) / connected : NaN,
          });
        } finally {
          await Promise.all(workers.map((w) => w.send("stop").catch(() => {})));
          await Promise.all(workers.map((w) => w.close()));
        }
      }),
  );
}

// ---------------------------------------------------------------- history

export interface HistoryOptions {
  /** Conversation sizes, e.g. [10_000, 100_000, 1_000_000]. */
  sizes: number[];
  /** Partner counts for `conversations`, e.g. [100, 1_000, 10_000]. */
  partners: number[];
  requests: number;
}

function runSeed(plan: SeedPlan): Promise<SeedReport> {
  return runChild<SeedReport>("./seed.ts", plan, "seeding");
}

export async function history(ctx: BenchContext, o: HistoryOptions): Promise<{
  results: ScenarioResult[];
  seed: SeedReport;
}> {
  const store = freshStore(ctx);
  const plan: SeedPlan = {
    store,
    conversations: o.sizes.map((n) => ({ from: "h_a", to: `h_b${n}`, count: n })),
    partnerLists: o.partners.map((n) => ({
      user: `c_u${n}`,
      partners: n,
      partnerPrefix: `c_p${n}_`,
    })),
    concurrency: 1000,
    samples: 1000,
  };
  const total = o.sizes.reduce((a, b) => a + b, 0) + o.partners.reduce((a, b) => a + b, 0);
  ctx.log(`  seeding ${total} messages through the repository API...`);
  const seed = await runSeed(plan);
  ctx.log(
    `  seeded ${seed.messages} messages in ${(seed.elapsedMs / 1000).toFixed(1)} s ` +
      `(${seed.perSecond.toFixed(0)}/s)`,
  );

  const results: ScenarioResult[] = [];
  const job = (url: string, target: TargetKind) => ({
    url,
    target,
    secret: ctx.secret,
    prefix: "h",
    timeoutMs: 30_000,
  });
  // History and conversations are read-only: one server per target serves every round.
  for (const target of TARGETS) {
    await withServer(ctx, target, async (server) => {
      for (const size of o.sizes) {
        for (const page of ["newest", "deep"] as const) {
          const result: ScenarioResult = {
            scenario: page === "newest" ? "history" : "history-before",
            variant: `${size} msgs`,
            target,
            rounds: [],
          };
          for (let round = 0; round < ctx.rounds; round++) {
            const beforeIds = page === "deep" ? seed.samples[`h_a|h_b${size}`] : undefined;
            const [r] = await runWorkers([{
              kind: "history",
              ...job(server.url, target),
              userId: "h_a",
              peerId: `h_b${size}`,
              requests: o.requests,
              limit: 50,
              beforeIds,
            }]);
            result.rounds.push(measure([r!]));
          }
          results.push(result);
          logLast(ctx, result);
        }
      }
      for (const n of o.partners) {
        const result: ScenarioResult = {
          scenario: "conversations",
          variant: `${n} partners`,
          target,
          rounds: [],
        };
        for (let round = 0; round < ctx.rounds; round++) {
          const [r] = await runWorkers([{
            kind: "conversations",
            ...job(server.url, target),
            userId: `c_u${n}`,
            requests: o.requests,
            limit: 50,
          }]);
          result.rounds.push(measure([r!]));
        }
        results.push(result);
        logLast(ctx, result);
      }
    }, target === "parley" ? store : undefined);
  }
  return { results, seed };
}

function logLast(ctx: BenchContext, r: ScenarioResult): void {
  const m = r.rounds.at(-1)!;
  ctx.log(
    `  ${r.scenario} ${r.variant} ${r.target}: p50 ${m.p50.toFixed(2)} p99 ${
      m.p99.toFixed(2)
    } ms, ` +
      `errors ${m.errors}` + (m.errorSamples.length ? ` (${m.errorSamples[0]})` : ""),
  );
}

// ---------------------------------------------------------------- catch-up

export interface CatchUpOptions {
  messages: number;
  /** Sends in flight while the receiver is away. */
  window: number;
}

export function catchUp(ctx: BenchContext, o: CatchUpOptions): Promise<ScenarioResult[]> {
  return roundsOf(
    ctx,
    "catch-up",
    `${o.messages} msgs`,
    (target, round) =>
      withServer(ctx, target, async (server) => {
        const base = {
          url: server.url,
          target,
          secret: ctx.secret,
          timeoutMs: 60_000,
        };
        const receiverId = `k${round}_receiver`;
        const send = new Worker({
          kind: "send",
          ...base,
          prefix: `k${round}_`,
          senderId: `k${round}_sender`,
          receiverId,
          count: o.messages,
          window: o.window,
        });
        const receive = new Worker({
          kind: "receive",
          ...base,
          prefix: `k${round}_`,
          userId: receiverId,
          count: o.messages,
        });
        try {
          await Promise.all([send.next("ready"), receive.next("ready")]);
          let sent: JobResult;
          if (target === "parley") {
            // The receiver is offline while every message is stored, then comes back.
            await send.send("go");
            sent = await send.result();
            await receive.send("go");
          } else {
            // The relay keeps nothing: its baseline is the same messages relayed live.
            await receive.send("go");
            await send.send("go");
            sent = await send.result();
          }
          const got = await receive.result();
          const m = measure([got], {
            timeToAllMs: got.endedAt - got.startedAt,
            sendPhaseMs: sent.endedAt - sent.startedAt,
            acked: sent.acked,
          });
          m.errors += sent.errors;
          m.errorSamples.push(...sent.errorSamples);
          m.lost = Math.max(0, sent.acked - got.received);
          return m;
        } finally {
          await Promise.all([send.close(), receive.close()]);
        }
      }),
  );
}

// ---------------------------------------------------------------- store

export interface StoreOptions {
  /** Concurrent senders (the burst's clients: one send in flight each). */
  senders: number;
  /** Timed sends per round. */
  sends: number;
}

/** Runs one `bench/*.ts` child with a JSON argument and parses its last stdout line. */
export async function runChild<T>(script: string, arg: unknown, what: string): Promise<T> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", new URL(script, import.meta.url).pathname, JSON.stringify(arg)],
    cwd: new URL("../", import.meta.url).pathname,
    stdout: "piped",
    stderr: "piped",
  });
  const { success, stdout, stderr } = await child.output();
  const out = new TextDecoder().decode(stdout);
  if (!success) throw new Error(`${what} failed:\n${new TextDecoder().decode(stderr)}\n${out}`);
  return JSON.parse(out.trim().split("\n").at(-1)!) as T;
}

/**
 * The store micro-bench (bench/store_cost.ts), each round in a fresh process
 * on fresh files: a delivered send through the SQLite backend (insert +
 * receipt, `senders` at once), the same operations' SQL on one thread, and a
 * bare SQLite insert of message rows, in transactions of the batch size the
 * backend formed. Sends are not messages over sockets: throughput is sends/s,
 * latency is insert → receipt committed.
 */
export async function storeCost(ctx: BenchContext, o: StoreOptions): Promise<ScenarioResult[]> {
  if (ctx.store.kind !== "sqlite") {
    ctx.log("  skipped: the store micro-bench measures the SQLite backend (--store sqlite)");
    return [];
  }
  const store: ScenarioResult = {
    scenario: "store",
    variant: `${o.senders} senders, insert + receipt`,
    target: "parley",
    rounds: [],
  };
  const sql: ScenarioResult = { ...store, variant: "", target: "sqlite", rounds: [] };
  const raw: ScenarioResult = { ...store, variant: "", target: "sqlite", rounds: [] };
  for (let round = 0; round < ctx.rounds; round++) {
    storeSeq++;
    const dir = `${ctx.tmpDir}/store-cost-${storeSeq}`;
    await Deno.mkdir(dir, { recursive: true });
    const plan: StoreCostPlan = {
      dir,
      senders: o.senders,
      sends: o.sends,
      warmup: Math.min(1000, Math.ceil(o.sends / 10)),
    };
    const r = await runChild<StoreCostReport>("./store_cost.ts", plan, "store micro-bench");
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    const s = r.store;
    store.rounds.push({
      throughput: (s.sends * 1000) / s.elapsedMs,
      ...s.latency,
      errors: s.errors,
      lost: 0,
      duplicates: 0,
      extra: {
        usPerSend: s.usPerSend,
        mainCpuUsPerSend: s.mainCpuUsPerSend,
        workerCpuUsPerSend: s.workerCpuUsPerSend,
        otherCpuUsPerSend: s.otherCpuUsPerSend,
        batchMeanWrites: s.batches.meanWrites,
        batchRoundTripP50Ms: s.batches.roundTripP50Ms,
        batchRoundTripP99Ms: s.batches.roundTripP99Ms,
        postUsPerWrite: s.batches.postUsPerWrite,
        handlerUsPerWrite: s.batches.handlerUsPerWrite,
      },
      errorSamples: s.errorSamples,
    });
    sql.variant = `store SQL alone, ${r.sql.batchWrites} writes/txn`;
    sql.rounds.push(sqliteRound(1e6 / r.sql.usPerSend, {
      usPerSend: r.sql.usPerSend,
      commitP50Ms: r.sql.commitP50Ms,
    }));
    raw.variant = `raw insert, delivered rows, ${r.raw.batchRows} rows/txn`;
    raw.rounds.push(sqliteRound(1e6 / r.raw.usPerRow, {
      usPerRow: r.raw.usPerRow,
      commitP50Ms: r.raw.commitP50Ms,
    }));
    ctx.log(
      `  store round ${round + 1}/${ctx.rounds}: ${s.usPerSend.toFixed(1)} µs/send ` +
        `(main ${s.mainCpuUsPerSend.toFixed(1)}, worker ${
          s.workerCpuUsPerSend.toFixed(1)
        } µs CPU), ` +
        `batches of ${s.batches.meanWrites.toFixed(0)} writes, round trip p50 ` +
        `${s.batches.roundTripP50Ms.toFixed(2)} ms; SQL alone ${
          r.sql.usPerSend.toFixed(1)
        } µs/send; ` +
        `raw insert ${r.raw.usPerRow.toFixed(1)} µs/row; errors ${s.errors}` +
        (s.errorSamples.length ? ` (${s.errorSamples[0]})` : ""),
    );
  }
  return [store, sql, raw];
}

function sqliteRound(throughput: number, extra: Record<string, number>): Measurement {
  return {
    throughput,
    p50: NaN,
    p95: NaN,
    p99: NaN,
    errors: 0,
    lost: 0,
    duplicates: 0,
    extra,
    errorSamples: [],
  };
}
