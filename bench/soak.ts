/**
 * The soak: one Parley server under a steady 500 messages/s for ten minutes while clients come
 * and go and some never acknowledge what they are sent, to see whether anything piles up (memory,
 * event-loop delay) or falls through (a confirmed message that never arrives). Parley alone, one
 * round: the relay has nothing to keep that could pile up, and the run is long enough on its own.
 *
 * RSS is read every second from /proc; a figure is the median of the readings of a 10 s window
 * (one GC more or less does not decide the verdict): "after the first minute" is the window ending
 * at 60 s (at half the run when it is shorter than two minutes), "at the end" the one ending when
 * the sends stop. Its anonymous part (heaps) and the V8 heap in use (the server's /metrics, every
 * 10 s) tell a growing JavaScript heap from native memory. The load generators' part is `runSoak` in bench/load_worker.ts.
 */
import type { SoakJob } from "./jobs.ts";
import { type MemoryKiB, readMachineCpu, readMemoryKiB, Worker } from "./processes.ts";
import {
  type BenchContext,
  measure,
  type ScenarioResult,
  sleep,
  split,
  withServer,
} from "./scenarios.ts";
import { readLoopDelay, readSample, watchLoopDelay } from "./server_metrics.ts";
import { median } from "./stats.ts";

export interface SoakOptions {
  /** Clients, in pairs that talk to each other (default 200). */
  clients: number;
  /** Messages per second, all clients together (default 500). */
  rate: number;
  /** Length of the load, minutes (default 10). */
  minutes: number;
  /** Share of the clients that reconnect each minute (default 0.1). */
  reconnectShare: number;
  /** Every n-th client never acknowledges `receiveMessage` (default 10: 10 % of them). */
  nonAckEvery: number;
}

export const SOAK_DEFAULTS: SoakOptions = {
  clients: 200,
  rate: 500,
  minutes: 10,
  reconnectShare: 0.1,
  nonAckEvery: 10,
};

/** RSS allowed at the end over the figure after the first minute. */
export const SOAK_RSS_GROWTH_LIMIT = 0.15;

/** Seconds of RSS readings summed up in one figure. */
const RSS_WINDOW_S = 10;
/** The V8 heap in use, from prom-client's default metrics in the server's /metrics. */
const HEAP_USED = "parley_nodejs_heap_size_used_bytes";
/** What V8 holds from the system for that heap (in RSS whether in use or not). */
const HEAP_TOTAL = "parley_nodejs_heap_size_total_bytes";
/** Seconds between heap readings (each is a /metrics request, more than an RSS reading costs). */
const HEAP_EVERY_S = 10;

interface MemoryReading extends MemoryKiB {
  atS: number;
  /** V8 heap in use, KiB; in one reading of every HEAP_EVERY_S (and the last), NaN elsewhere. */
  heapKiB: number;
  /** V8 heap committed, KiB; read with `heapKiB`. */
  heapTotalKiB: number;
}

/** Median of one part of the readings in the window ending at `endS`. */
function memoryAt(readings: MemoryReading[], endS: number, part: keyof MemoryKiB): number {
  return median(
    readings.filter((r) => r.atS > endS - RSS_WINDOW_S && r.atS <= endS).map((r) => r[part]),
  );
}

/** The heap reading nearest to `atS`. */
function heapAt(
  readings: MemoryReading[],
  atS: number,
  part: "heapKiB" | "heapTotalKiB" = "heapKiB",
): number {
  const withHeap = readings.filter((r) => Number.isFinite(r[part]));
  const nearest = withHeap.sort((a, b) => Math.abs(a.atS - atS) - Math.abs(b.atS - atS))[0];
  return nearest?.[part] ?? NaN;
}

/**
 * The memory figures of a run whose load lasted `loadS`: RSS (and its anonymous part, where a
 * leak would show) after the first minute, at half time and at the end; RSS and heap by minute.
 */
function memoryFigures(readings: MemoryReading[], loadS: number): Record<string, number> {
  const firstS = Math.min(60, loadS / 2);
  const first = memoryAt(readings, firstS, "rss");
  const mid = memoryAt(readings, loadS / 2, "rss");
  const end = memoryAt(readings, loadS, "rss");
  const minutes = Array.from({ length: Math.floor(loadS / 60) }, (_, i) => i + 1);
  return {
    firstMinuteAtS: firstS,
    rssFirstMinuteKiB: first,
    rssMidKiB: mid,
    rssEndKiB: end,
    rssGrowthPct: (100 * (end - first)) / first,
    rssSecondHalfGrowthPct: (100 * (end - mid)) / mid,
    rssMaxKiB: Math.max(...readings.map((r) => r.rss)),
    rssAnonFirstMinuteKiB: memoryAt(readings, firstS, "anon"),
    rssAnonEndKiB: memoryAt(readings, loadS, "anon"),
    rssFileEndKiB: memoryAt(readings, loadS, "file"),
    heapFirstMinuteKiB: heapAt(readings, firstS),
    heapEndKiB: heapAt(readings, loadS),
    heapTotalFirstMinuteKiB: heapAt(readings, firstS, "heapTotalKiB"),
    heapTotalEndKiB: heapAt(readings, loadS, "heapTotalKiB"),
    // By minute, for the JSON: whether it levels off, and when.
    ...Object.fromEntries(
      minutes.map((n) => [`rssMinute${n}KiB`, memoryAt(readings, n * 60, "rss")]),
    ),
    ...Object.fromEntries(minutes.map((n) => [`heapMinute${n}KiB`, heapAt(readings, n * 60)])),
    ...Object.fromEntries(
      minutes.map((n) => [`heapTotalMinute${n}KiB`, heapAt(readings, n * 60, "heapTotalKiB")]),
    ),
  };
}

const mib = (kiB: number | undefined) => ((kiB ?? NaN) / 1024).toFixed(1);

export function soak(ctx: BenchContext, o: SoakOptions): Promise<ScenarioResult[]> {
  const durationMs = Math.round(o.minutes * 60_000);
  const variant = `${o.clients} clients, ${o.rate} msg/s, ${o.minutes} min, ` +
    `${Math.round(o.reconnectShare * 100)}% reconnect/min, 1 in ${o.nonAckEvery} never acks`;
  return withServer(ctx, "parley", async (server) => {
    const pairs = split(o.clients / 2, ctx.workers).filter((p) => p > 0);
    const workers = pairs.map((p, w) => {
      const job: SoakJob = {
        kind: "soak",
        url: server.url,
        target: "parley",
        secret: ctx.secret,
        prefix: `soak_w${w}u`,
        timeoutMs: 30_000,
        pairs: p,
        rate: (o.rate * p * 2) / o.clients,
        durationMs,
        reconnectShare: o.reconnectShare,
        nonAckEvery: o.nonAckEvery,
        offlineMs: [500, 3000],
        drainQuietMs: 30_000,
      };
      return new Worker(job);
    });
    try {
      await Promise.all(workers.map((w) => w.next("ready")));
      const rssAtGoKiB = await server.rssKiB();
      const cpuBefore = await server.cpuSeconds();
      const machineBefore = await readMachineCpu();
      const loop = watchLoopDelay(server.url);
      const t0 = performance.now();
      await Promise.all(workers.map((w) => w.send("go")));
      let failed = false;
      const results = Promise.all(workers.map((w) => w.result()));
      results.catch(() => failed = true); // awaited below; this only ends the sampling early

      const readings: MemoryReading[] = [];
      let minute = 1;
      let nextHeapS = HEAP_EVERY_S;
      let elapsedS = 0;
      while (!failed && elapsedS * 1000 < durationMs) {
        await sleep(1000);
        elapsedS = (performance.now() - t0) / 1000;
        const reading: MemoryReading = {
          atS: elapsedS,
          ...await readMemoryKiB(server.pid),
          heapKiB: NaN,
          heapTotalKiB: NaN,
        };
        readings.push(reading);
        const last = elapsedS * 1000 >= durationMs;
        if (elapsedS >= nextHeapS || last) {
          nextHeapS += HEAP_EVERY_S;
          const kiB = (name: string) =>
            readSample(server.url, name).then((bytes) => bytes / 1024, () => NaN);
          reading.heapKiB = await kiB(HEAP_USED);
          reading.heapTotalKiB = await kiB(HEAP_TOTAL);
        }
        if (elapsedS >= minute * 60) {
          const window = await readLoopDelay(server.url).catch(() => new Map<string, number>());
          ctx.log(
            `  soak minute ${minute}/${Math.ceil(o.minutes)}: server RSS ${
              mib(memoryAt(readings, elapsedS, "rss"))
            } MiB (anonymous ${mib(memoryAt(readings, elapsedS, "anon"))}, V8 heap in use ${
              mib(reading.heapKiB)
            }, committed ${mib(reading.heapTotalKiB)}), event-loop delay p99 of the last 10 s ${
              window.get("0.99")?.toFixed(1) ?? "–"
            } ms`,
          );
          minute++;
        }
      }
      const loadS = elapsedS;
      const loopDelay = await loop.stop();
      const cpuAfter = await server.cpuSeconds();
      const machineAfter = await readMachineCpu();
      ctx.log(`  soak: sends stopped at ${loadS.toFixed(0)} s; draining...`);
      const answers = await results;
      const rssAfterDrainKiB = await server.rssKiB();

      const serverCpu = cpuAfter.main + cpuAfter.workers + cpuAfter.other -
        (cpuBefore.main + cpuBefore.workers + cpuBefore.other);
      const loadCpu = answers.reduce((n, r) => n + r.cpuSeconds, 0);
      const sum = (key: string) => answers.reduce((n, r) => n + (r.counts[key] ?? 0), 0);
      const machineBusy = machineAfter.busy - machineBefore.busy;
      const machineTotal = machineBusy + machineAfter.idle - machineBefore.idle;
      const m = measure(answers, {
        sent: sum("sent"),
        refused: sum("refused"),
        confirmedToNonAckers: sum("confirmedToNonAckers"),
        unackedReceipts: sum("unackedReceipts"),
        reconnects: sum("reconnects"),
        droppedByServer: sum("droppedByServer"),
        notSentNoClient: sum("notSentNoClient"),
        drainMs: Math.max(...answers.map((r) => r.counts.drainMs ?? 0)),
        caughtUp: sum("caughtUp"),
        // The larger of the load generators' own: their samples stay in their processes.
        caughtUpP50Ms: Math.max(...answers.map((r) => r.counts.caughtUpP50Ms ?? NaN)),
        caughtUpP99Ms: Math.max(...answers.map((r) => r.counts.caughtUpP99Ms ?? NaN)),
        rssAtGoKiB,
        ...memoryFigures(readings, loadS),
        rssAfterDrainKiB,
        cpuMainPct: (100 * (cpuAfter.main - cpuBefore.main)) / loadS,
        cpuWorkersPct: (100 * (cpuAfter.workers - cpuBefore.workers)) / loadS,
        cpuOtherPct: (100 * (cpuAfter.other - cpuBefore.other)) / loadS,
        loadCpuPct: (100 * loadCpu) / loadS,
        // Everything else the machine ran meanwhile: other people's work, the kernel, this process.
        elsewhereCpuPct: (100 * (machineBusy - loadCpu - serverCpu)) / loadS,
        machineBusyPct: machineTotal > 0 ? (100 * machineBusy) / machineTotal : NaN,
        ...loopDelay,
      });
      // Confirmed sends per second of load (the drain's receipts are not throughput).
      m.throughput = (m.extra.acked ?? 0) / loadS;
      const e = m.extra;
      ctx.log(
        `  soak: ${e.sent} sent, ${e.acked} confirmed, ${e.received} received, ${m.lost} lost, ` +
          `${m.duplicates} received again, ${e.reconnects} reconnects (${e.droppedByServer} after a drop), errors ${m.errors}` +
          (m.errorSamples.length ? ` (${m.errorSamples[0]})` : "") +
          `; latency p50 ${m.p50.toFixed(1)} p99 ${m.p99.toFixed(1)} ms (${e.caughtUp} sent ` +
          `while the receiver was away: p50 ${e.caughtUpP50Ms!.toFixed(0)} p99 ${
            e.caughtUpP99Ms!.toFixed(0)
          } ms); RSS ${mib(e.rssAtGoKiB)} MiB at the start, ${mib(e.rssFirstMinuteKiB)} MiB after ${
            e.firstMinuteAtS!.toFixed(0)
          } s, ${mib(e.rssEndKiB)} MiB at the end (${e.rssGrowthPct!.toFixed(1)}%; anonymous ${
            mib(e.rssAnonFirstMinuteKiB)
          } → ${mib(e.rssAnonEndKiB)} MiB, V8 heap in use ${mib(e.heapFirstMinuteKiB)} → ${
            mib(e.heapEndKiB)
          } MiB, committed ${mib(e.heapTotalFirstMinuteKiB)} → ${mib(e.heapTotalEndKiB)} MiB); ` +
          `event-loop delay p99 ${loopDelay.eventLoopDelayP99Ms.toFixed(1)} ms`,
      );
      return [{ scenario: "soak", variant, target: "parley", rounds: [m] }];
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
  });
}
