/**
 * Child processes of the bench: the server under test (Parley's own main.ts
 * with production settings except RATE_LIMITS=off), the bare relay baseline,
 * the store seeder and the load generators.
 */
import type { Job, JobResult, WorkerLine } from "./jobs.ts";
import type { BatchTrace } from "./worker_probe.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const MAIN = `${ROOT}main.ts`;
const RELAY = `${ROOT}bench/relay_server.ts`;
const WORKER = `${ROOT}bench/load_worker.ts`;
const STORE_PROBE = `${ROOT}bench/store_probe.ts`;
/** Output kept per child for error reports. */
const OUTPUT_TAIL = 20_000;

/** Where one Parley server keeps its data. */
export type StoreSpec =
  | { kind: "sqlite"; path: string; uploadDir: string }
  | { kind: "mongo"; uri: string; db: string };

export interface ServerSpec {
  kind: "parley" | "relay";
  /** Parley only: the store (a SQLite file with its upload directory, or a MongoDB database). */
  store?: StoreSpec;
  secret: string;
  /** Directory for `--cpu-prof` output of the server, when profiling. */
  cpuProfDir?: string;
  /** Parley only: record the SQLite write batches (bench/store_probe.ts) into this file. */
  storeProbeFile?: string;
  env?: Record<string, string>;
}

export interface ServerProcess {
  url: string;
  pid: number;
  /** Resident set size of the server process in KiB (VmRSS). */
  rssKiB(): Promise<number>;
  /** CPU time used so far, in seconds: the JS (main) thread and all other threads. */
  cpuSeconds(): Promise<CpuSeconds>;
  output(): string;
  /**
   * With `storeProbeFile`: the SQLite write batches recorded so far (the server
   * writes them on SIGUSR2); undefined without a probe.
   */
  storeBatches(): Promise<BatchTrace[] | undefined>;
  stop(): Promise<void>;
}

/** Collects a stream into a bounded tail, so a child never blocks on a full pipe. */
function drain(stream: ReadableStream<Uint8Array>, sink: { text: string }): Promise<void> {
  return (async () => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      sink.text = (sink.text + chunk).slice(-OUTPUT_TAIL);
    }
  })().catch(() => {});
}

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

export interface CpuSeconds {
  /** The JavaScript (main) thread: its id is the pid. */
  main: number;
  /** Web workers' threads (Deno names them `worker-N`): the SQLite writer and reader. */
  workers: number;
  /** Every other thread: V8's GC helpers, tokio's I/O threads. */
  other: number;
}

/** Linux clock ticks per second (`getconf CLK_TCK`), 100 on every common kernel. */
const CLOCK_TICKS = 100;

/** utime + stime, seconds, of a /proc `stat` line (fields 14 and 15, after the command name). */
function statSeconds(stat: string): number {
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
}

/**
 * CPU time of `pid` by kind of thread, from /proc. The process's own `stat`
 * counts every thread, those that have exited too (tokio's idle threads come
 * and go); "other" is that total less the main thread and the workers.
 */
export async function readCpuSeconds(pid: number): Promise<CpuSeconds> {
  const total = statSeconds(await Deno.readTextFile(`/proc/${pid}/stat`));
  const cpu = { main: 0, workers: 0, other: 0 };
  for await (const task of Deno.readDir(`/proc/${pid}/task`)) {
    const stat = await Deno.readTextFile(`/proc/${pid}/task/${task.name}/stat`).catch(() => "");
    const seconds = statSeconds(stat);
    if (!Number.isFinite(seconds)) continue;
    const name = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    if (task.name === String(pid)) cpu.main += seconds;
    else if (name.startsWith("worker-")) cpu.workers += seconds;
  }
  cpu.other = Math.max(0, total - cpu.main - cpu.workers);
  return cpu;
}

/** The machine's CPU time so far (/proc/stat, all cores), seconds: busy and idle. */
export async function readMachineCpu(): Promise<{ busy: number; idle: number }> {
  const line = (await Deno.readTextFile("/proc/stat")).split("\n")[0]!;
  // cpu  user nice system idle iowait irq softirq steal ...
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/)
    .slice(1).map(Number) as number[];
  return {
    busy: (user! + nice! + system! + irq! + softirq! + steal!) / CLOCK_TICKS,
    idle: (idle! + iowait!) / CLOCK_TICKS,
  };
}

export async function readRssKiB(pid: number): Promise<number> {
  return (await readMemoryKiB(pid)).rss;
}

/** A process's resident memory in KiB, from /proc/<pid>/status. */
export interface MemoryKiB {
  /** VmRSS: all of the below. */
  rss: number;
  /** RssAnon: heaps (V8's, malloc's), stacks: what a leak grows. */
  anon: number;
  /** RssFile: mapped files resident (the executable, SQLite's shared-memory index...). */
  file: number;
}

export async function readMemoryKiB(pid: number): Promise<MemoryKiB> {
  const status = await Deno.readTextFile(`/proc/${pid}/status`);
  const field = (name: string) => {
    const match = status.match(new RegExp(`^${name}:\\s+(\\d+)\\s+kB$`, "m"));
    if (!match) throw new Error(`no ${name} for pid ${pid}`);
    return Number(match[1]);
  };
  return { rss: field("VmRSS"), anon: field("RssAnon"), file: field("RssFile") };
}

export async function startServer(spec: ServerSpec): Promise<ServerProcess> {
  const port = freePort();
  const flags = spec.cpuProfDir ? ["--cpu-prof", `--cpu-prof-dir=${spec.cpuProfDir}`] : [];
  const env: Record<string, string> = { PORT: String(port), HOST: "127.0.0.1" };
  const probeFile = spec.kind === "parley" ? spec.storeProbeFile : undefined;
  if (probeFile) {
    flags.push(`--preload=${STORE_PROBE}`);
    env.PARLEY_STORE_PROBE = probeFile;
  }
  if (spec.kind === "parley") {
    Object.assign(env, {
      JWT_SECRET: spec.secret,
      LOG_LEVEL: "warn",
      RATE_LIMITS: "off",
      MONGODB_URI: spec.store?.kind === "mongo" ? spec.store.uri : "",
      ...(spec.store?.kind === "mongo" ? { MONGODB_DB: spec.store.db } : {}),
      ...(spec.store?.kind === "sqlite"
        ? { SQLITE_PATH: spec.store.path, UPLOAD_DIR: spec.store.uploadDir }
        : {}),
    });
  }
  Object.assign(env, spec.env);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", ...flags, spec.kind === "parley" ? MAIN : RELAY],
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const out = { text: "" };
  const pumps = [drain(child.stdout, out), drain(child.stderr, out)];
  const url = `http://127.0.0.1:${port}`;
  const exited = child.status;
  let dead = false;
  void exited.then(() => dead = true);

  const deadline = Date.now() + 30_000;
  for (;;) {
    if (dead) throw new Error(`${spec.kind} exited during start-up:\n${out.text}`);
    try {
      const res = await fetch(`${url}/healthz`, { signal: AbortSignal.timeout(1000) });
      await res.body?.cancel();
      if (res.ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${spec.kind} did not start within 30 s:\n${out.text}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    url,
    pid: child.pid,
    rssKiB: () => readRssKiB(child.pid),
    cpuSeconds: () => readCpuSeconds(child.pid),
    output: () => out.text,
    async storeBatches() {
      if (!probeFile || dead) return undefined;
      await Deno.remove(probeFile).catch(() => {});
      child.kill("SIGUSR2");
      for (let i = 0; i < 100; i++) {
        await new Promise((r) => setTimeout(r, 50));
        const text = await Deno.readTextFile(probeFile).catch(() => undefined);
        if (text !== undefined) return JSON.parse(text) as BatchTrace[];
      }
      throw new Error(`the server wrote no store probe to ${probeFile} within 5 s`);
    },
    async stop() {
      if (dead) return;
      child.kill("SIGTERM");
      const timer = setTimeout(() => !dead && child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
      await Promise.all(pumps);
    },
  };
}

/** A load-generator process running one job. */
export class Worker {
  private readonly child: Deno.ChildProcess;
  private readonly lines: WorkerLine[] = [];
  private readonly waiters: (() => void)[] = [];
  private readonly err = { text: "" };
  private readonly writer: WritableStreamDefaultWriter<Uint8Array>;
  private exited = false;

  constructor(readonly job: Job) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", WORKER, JSON.stringify(job)],
      cwd: ROOT,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.writer = this.child.stdin.getWriter();
    void drain(this.child.stderr, this.err);
    void this.readLines();
    void this.child.status.then(() => {
      this.exited = true;
      this.wake();
    });
  }

  private wake(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  private async readLines(): Promise<void> {
    let buffer = "";
    for await (const chunk of this.child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let newline;
      while ((newline = buffer.indexOf("\n")) >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line.startsWith("{")) this.lines.push(JSON.parse(line) as WorkerLine);
      }
      this.wake();
    }
  }

  /** Resolves with the next line of this type; throws if the worker fails or exits first. */
  async next<T extends WorkerLine["type"]>(type: T): Promise<Extract<WorkerLine, { type: T }>> {
    for (;;) {
      const i = this.lines.findIndex((l) => l.type === type || l.type === "fatal");
      if (i >= 0) {
        const [line] = this.lines.splice(i, 1);
        if (line!.type === "fatal") {
          throw new Error(`load worker (${this.job.kind}) failed: ${line!.error}`);
        }
        return line as Extract<WorkerLine, { type: T }>;
      }
      if (this.exited) {
        throw new Error(`load worker (${this.job.kind}) exited:\n${this.err.text}`);
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async send(type: "go" | "stop"): Promise<void> {
    await this.writer.write(new TextEncoder().encode(JSON.stringify({ type }) + "\n"));
  }

  async result(): Promise<JobResult> {
    return (await this.next("result")).result;
  }

  async close(): Promise<void> {
    await this.writer.close().catch(() => {});
    const timer = setTimeout(() => !this.exited && this.child.kill("SIGKILL"), 10_000);
    await this.child.status;
    clearTimeout(timer);
  }
}

/** Starts workers, waits until all are ready, then lets them go at once. */
export async function runWorkers(jobs: Job[]): Promise<JobResult[]> {
  const workers = jobs.map((job) => new Worker(job));
  try {
    await Promise.all(workers.map((w) => w.next("ready")));
    await Promise.all(workers.map((w) => w.send("go")));
    return await Promise.all(workers.map((w) => w.result()));
  } finally {
    await Promise.all(workers.map((w) => w.close()));
  }
}
