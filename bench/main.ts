/**
 * Parley's benchmark: the server under test and a bare Socket.IO relay (the
 * baseline, measured in the same run) as child processes, driven by
 * load-generator processes over loopback; a table on stdout, JSON on request.
 *
 *   deno run -A bench/main.ts [--quick] [--store sqlite|mongo] [--clients N] [--rate R]
 *                             [--duration S] [--rounds N] [--only store,burst,...]
 *                             [--json out.json] [--profile DIR] [--probe-store] [--db-dir DIR]
 *                             [--soak-minutes M]
 *
 * `--quick` runs tiny versions of every scenario (CI: completes, 0 lost) and
 * exits non-zero when a scenario fails or loses a message. The soak (`--only soak`, ten
 * minutes) runs only when named. See BENCHMARKS.md.
 */
import { parseArgs } from "node:util";
import os from "node:os";
import { checkTargets, formatTable, formatTargets, type Row, toRows } from "./report.ts";
import {
  type BenchContext,
  burst,
  catchUp,
  connectStorm,
  history,
  type ScenarioResult,
  steady,
  type StoreChoice,
  storeCost,
} from "./scenarios.ts";
import type { SeedReport } from "./seed.ts";
import { group } from "./group_scenario.ts";
import { searchCost } from "./search_cost.ts";
import { soak, SOAK_DEFAULTS } from "./soak.ts";

/** What runs without `--only`. */
const DEFAULT_SCENARIOS = [
  "store",
  "burst",
  "steady",
  "connect",
  "history",
  "catch-up",
  "group",
  "search",
] as const;
const SCENARIOS = [...DEFAULT_SCENARIOS, "soak"] as const;
type ScenarioName = typeof SCENARIOS[number];

const USAGE = `usage: deno run -A bench/main.ts [options]
  --quick               tiny versions of every scenario (about a minute), for CI
  --store sqlite|mongo  Parley's store (default sqlite, a fresh file per server;
                        mongo needs MONGODB_URI)
  --clients N           clients of burst and steady, senders of store (default 200, 1000, 200)
  --messages N          messages of the burst, sends per round of store (default 50000)
  --rate R              messages per second of steady (default 2000)
  --duration S          seconds of steady (default 30)
  --connections N       clients of the connect storm (default 5000)
  --sizes a,b,c         history conversation sizes (default 10000,100000,1000000)
  --partners a,b,c      conversations scenario partner counts (default 100,1000,10000)
  --catch-up N          messages waiting for the offline receiver (default 10000)
  --search-sizes a,b    messages in the stores the search scenario seeds (default 1000000)
  --group-messages N    messages per sender of the group scenario (default 100; a group of
                        100 members, 20 of them sending)
  --group-window N      the group's sends in flight per sender (default 1)
  --rounds N            rounds per scenario and target; medians are reported (default 3)
  --workers N           load-generator processes (default 2)
  --only a,b            run only these scenarios (${SCENARIOS.join(", ")});
                        soak runs only when named here, never with --quick's defaults
  --soak-minutes M      length of the soak's load, minutes, decimals allowed (default ${SOAK_DEFAULTS.minutes};
                        200 clients, 500 msg/s, 10 % reconnect/min, 1 in 10 never acks, 1 round)
  --db-dir DIR          where the SQLite files go (default: a new temp dir, removed after)
  --json FILE           also write the results as JSON
  --profile DIR         run the Parley server with --cpu-prof, profiles into DIR
  --probe-store         record the server's SQLite write batches (size, commit round trip,
                        reply handling) over each measured phase (bench/store_probe.ts)`;

interface Options {
  quick: boolean;
  store: "sqlite" | "mongo";
  burstClients: number;
  burstMessages: number;
  steadyClients: number;
  rate: number;
  durationS: number;
  connections: number;
  sizes: number[];
  partners: number[];
  catchUp: number;
  searchSizes: number[];
  groupMessages: number;
  groupWindow: number;
  rounds: number;
  workers: number;
  soakMinutes: number;
  only: ScenarioName[];
  json?: string;
  profile?: string;
  probeStore: boolean;
  dbDir?: string;
}

function fail(message: string): never {
  console.error(`${message}\n\n${USAGE}`);
  Deno.exit(2);
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) {
    fail(`--${name} must be a positive integer (given: ${value})`);
  }
  return n;
}

function intList(name: string, value: string | undefined, fallback: number[]): number[] {
  if (value === undefined) return fallback;
  return value.split(",").map((v) => positiveInt(name, v.trim(), 0));
}

export function parseOptions(args: string[]): Options {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      options: {
        quick: { type: "boolean", default: false },
        store: { type: "string", default: "sqlite" },
        clients: { type: "string" },
        messages: { type: "string" },
        rate: { type: "string" },
        duration: { type: "string" },
        connections: { type: "string" },
        sizes: { type: "string" },
        partners: { type: "string" },
        "catch-up": { type: "string" },
        "search-sizes": { type: "string" },
        "group-messages": { type: "string" },
        "group-window": { type: "string" },
        rounds: { type: "string" },
        workers: { type: "string" },
        "soak-minutes": { type: "string" },
        only: { type: "string" },
        json: { type: "string" },
        profile: { type: "string" },
        "probe-store": { type: "boolean", default: false },
        "db-dir": { type: "string" },
        help: { type: "boolean", default: false },
      },
    });
  } catch (err) {
    fail(err instanceof Error ? err.message : String(err));
  }
  const v = parsed.values;
  if (v.help) {
    console.log(USAGE);
    Deno.exit(0);
  }
  if (v.store !== "sqlite" && v.store !== "mongo") {
    fail(`--store must be sqlite or mongo (given: ${v.store})`);
  }
  const q = v.quick;
  const clients = v.clients === undefined ? undefined : positiveInt("clients", v.clients, 0);
  if (clients !== undefined && clients % 2 !== 0) {
    fail(`--clients must be even (given: ${clients})`);
  }
  const only =
    (v.only?.split(",").map((s) => s.trim()) ?? [...DEFAULT_SCENARIOS]) as ScenarioName[];
  for (const name of only) {
    if (!SCENARIOS.includes(name)) fail(`--only: unknown scenario ${JSON.stringify(name)}`);
  }
  const soakMinutes = Number(v["soak-minutes"] ?? SOAK_DEFAULTS.minutes);
  if (!(soakMinutes > 0) || !Number.isFinite(soakMinutes)) {
    fail(`--soak-minutes must be a positive number (given: ${v["soak-minutes"]})`);
  }
  return {
    quick: q,
    store: v.store,
    burstClients: clients ?? (q ? 20 : 200),
    burstMessages: positiveInt("messages", v.messages, q ? 2_000 : 50_000),
    steadyClients: clients ?? (q ? 40 : 1_000),
    rate: positiveInt("rate", v.rate, q ? 200 : 2_000),
    durationS: positiveInt("duration", v.duration, q ? 3 : 30),
    connections: positiveInt("connections", v.connections, q ? 200 : 5_000),
    sizes: intList("sizes", v.sizes, q ? [1_000, 5_000] : [10_000, 100_000, 1_000_000]),
    partners: intList("partners", v.partners, q ? [100, 500] : [100, 1_000, 10_000]),
    catchUp: positiveInt("catch-up", v["catch-up"], q ? 500 : 10_000),
    searchSizes: intList("search-sizes", v["search-sizes"], q ? [20_000] : [1_000_000]),
    groupMessages: positiveInt("group-messages", v["group-messages"], q ? 5 : 100),
    groupWindow: positiveInt("group-window", v["group-window"], 1),
    rounds: positiveInt("rounds", v.rounds, q ? 1 : 3),
    workers: positiveInt("workers", v.workers, 2),
    soakMinutes,
    only,
    json: v.json,
    profile: v.profile,
    probeStore: v["probe-store"],
    dbDir: v["db-dir"],
  };
}

function machine() {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model ?? "unknown",
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    os: `${os.type()} ${os.release()}`,
    deno: Deno.version.deno,
    v8: Deno.version.v8,
    loadAverageAtStart: os.loadavg().map((l) => Math.round(l * 100) / 100),
  };
}

async function dropMongoDbs(uri: string, names: string[]): Promise<void> {
  if (names.length === 0) return;
  const { MongoClient } = await import("mongodb");
  const client = new MongoClient(uri, { serverSelectionTimeoutMS: 2000 });
  try {
    for (const name of names) await client.db(name).dropDatabase().catch(() => {});
  } finally {
    await client.close();
  }
}

async function main(): Promise<number> {
  const o = parseOptions(Deno.args);
  let store: StoreChoice = { kind: "sqlite" };
  if (o.store === "mongo") {
    const uri = Deno.env.get("MONGODB_URI");
    if (!uri) fail("--store mongo needs MONGODB_URI (scripts/mongo-test-server.sh start)");
    store = { kind: "mongo", uri };
  }
  if (o.dbDir) await Deno.mkdir(o.dbDir, { recursive: true });
  const tmpDir = await Deno.makeTempDir({ prefix: "parley-bench-", dir: o.dbDir });
  const ctx: BenchContext = {
    secret: `bench-${crypto.randomUUID()}-${crypto.randomUUID()}`,
    store,
    tmpDir,
    rounds: o.rounds,
    workers: o.workers,
    cpuProfDir: o.profile,
    probeStore: o.probeStore,
    log: (line) => console.error(line),
    mongoDbs: [],
  };
  if (o.profile) await Deno.mkdir(o.profile, { recursive: true });
  const started = Date.now();
  const meta = { startedAt: new Date().toISOString(), machine: machine(), options: o };
  console.error(
    `parley bench: store ${o.store}, ${o.rounds} round(s), ${o.workers} load workers, ` +
      `${meta.machine.cores} cores (load average ${meta.machine.loadAverageAtStart.join(" ")})`,
  );

  const results: ScenarioResult[] = [];
  const failures: string[] = [];
  let seed: SeedReport | undefined;
  const run = async (name: ScenarioName, fn: () => Promise<ScenarioResult[]>) => {
    if (!o.only.includes(name)) return;
    const t0 = Date.now();
    console.error(`\n${name}:`);
    try {
      results.push(...await fn());
    } catch (err) {
      failures.push(`${name}: ${err instanceof Error ? err.message : err}`);
      console.error(`  FAILED: ${err instanceof Error ? err.stack : err}`);
    }
    console.error(`  (${((Date.now() - t0) / 1000).toFixed(0)} s)`);
  };

  try {
    await run("store", () => storeCost(ctx, { senders: o.burstClients, sends: o.burstMessages }));
    await run(
      "burst",
      () => burst(ctx, { clients: o.burstClients, messages: o.burstMessages, window: 1 }),
    );
    await run(
      "steady",
      () => steady(ctx, { clients: o.steadyClients, rate: o.rate, durationS: o.durationS }),
    );
    await run(
      "connect",
      () =>
        connectStorm(ctx, {
          clients: o.connections,
          settleMs: o.quick ? 500 : 3000,
          idleMs: o.quick ? 1000 : 25_000,
        }),
    );
    await run("history", async () => {
      const h = await history(ctx, {
        sizes: o.sizes,
        partners: o.partners,
        requests: o.quick ? 50 : 1000,
      });
      seed = h.seed;
      return h.results;
    });
    await run("catch-up", () => catchUp(ctx, { messages: o.catchUp, window: 50 }));
    await run(
      "group",
      () =>
        group(ctx, {
          members: 100,
          senders: 20,
          messagesPerSender: o.groupMessages,
          window: o.groupWindow,
        }),
    );
    await run(
      "search",
      () => searchCost(ctx, { sizes: o.searchSizes, users: 1000, queries: o.quick ? 200 : 2000 }),
    );
    await run("soak", () => soak(ctx, { ...SOAK_DEFAULTS, minutes: o.soakMinutes }));
  } finally {
    await Deno.remove(tmpDir, { recursive: true }).catch(() => {});
    if (store.kind === "mongo") await dropMongoDbs(store.uri, ctx.mongoDbs).catch(() => {});
  }

  const rows: Row[] = toRows(results);
  const targets = checkTargets(rows);
  console.log(`\n${formatTable(rows)}\n`);
  if (seed) {
    console.log(
      `history store seeded through the repository API: ${seed.messages} messages in ` +
        `${(seed.elapsedMs / 1000).toFixed(1)} s (${seed.perSecond.toFixed(0)}/s)`,
    );
  }
  if (!o.quick) console.log(`\ntargets (${o.store} store):\n${formatTargets(targets)}`);
  const lost = rows.reduce((n, r) => n + r.lost, 0);
  const elapsedS = Math.round((Date.now() - started) / 1000);
  const loadAverageAtEnd = os.loadavg().map((l) => Math.round(l * 100) / 100);
  console.log(
    `\n${rows.length} rows in ${elapsedS} s; lost messages: ${lost}; load average ` +
      `${meta.machine.loadAverageAtStart.join(" ")} at the start, ${
        loadAverageAtEnd.join(" ")
      } at the end`,
  );
  for (const f of failures) console.log(`FAILED ${f.split("\n")[0]}`);

  if (o.json) {
    const report = {
      ...meta,
      elapsedS,
      loadAverageAtEnd,
      rows,
      targets,
      seed: seed && { ...seed, samples: undefined },
      failures,
    };
    await Deno.writeTextFile(o.json, JSON.stringify(report, null, 2) + "\n");
    console.log(`JSON written to ${o.json}`);
  }
  return failures.length > 0 || lost > 0 ? 1 : 0;
}

if (import.meta.main) Deno.exit(await main());
