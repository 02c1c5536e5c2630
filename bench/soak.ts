/**
 * The soak: one Parley server under a steady 500 messages/s for ten minutes while clients come
 * and go and some never acknowledge what they are sent, to see whether anything piles up (memory,
 * event-loop delay) or falls through (a confirmed message that never arrives). Parley alone, one
 * round: the relay has nothing to keep that could pile up, and the run is long enough on its own.
 *
 * RSS is read every second from /proc; a figure is the median of the readings of a 10 s window
 * (one GC more or less does not decide the verdict): "after the first minute" is the window ending
 * at 60 s (at half the run when it is shorter than two minutes), "at the end" the one ending when
 * the sends stop. The load generators' part is `runSoak` in bench/load_worker.ts.
 */
import type { SoakJob } from "./jobs.ts";
import { readMachineCpu, Worker } from "./processes.ts";
import {
  type BenchContext,
  measure,
  type ScenarioResult,
  sleep,
  split,
  withServer,
} from "./scenarios.ts";
import { readLoopDelay, watchLoopDelay } from "./server_metrics.ts";
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

interface RssReading {
  atS: number;
  kiB: number;
}

/** Median RSS of the readings in the window ending at `endS`. */
function rssAt(readings: RssReading[], endS: number): number {
  return median(
    readings.filter((r) => r.atS > endS - RSS_WINDOW_S && r.atS <= endS).map((r) => r.kiB),
  );
}

const mib = (kiB: number) => (kiB / 1024).toFixed(1);

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
      const cpuBefore = await server.cpuSeconds();
      const machineBefore = await readMachineCpu();
      const loop = watchLoopDelay(server.url);
      const t0 = performance.now();
      await Promise.all(workers.map((w) => w.send("go")));
      let failed = false;
      const results = Promise.all(workers.map((w) => w.result()));
      results.catch(() => failed = true); // awaited below; this only ends the sampling early

      const readings: RssReading[] = [];
      let minute = 1;
      let elapsedS = 0;
      while (!failed && elapsedS * 1000 < durationMs) {
        await sleep(1000);
        elapsedS = (performance.now() - t0) / 1000;
        readings.push({ atS: elapsedS, kiB: await server.rssKiB() });
        if (elapsedS >= minute * 60) {
          const window = await readLoopDelay(server.url).catch(() => new Map<string, number>());
          ctx.log(
            `  soak minute ${minute}/${Math.ceil(o.minutes)}: server RSS ${
              mib(rssAt(readings, elapsedS))
            } MiB, event-loop delay p99 of the last 10 s ${
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

      const firstS = Math.min(60, loadS / 2);
      const rssFirstKiB = rssAt(readings, firstS);
      const rssEndKiB = rssAt(readings, loadS);
      const midKiB = rssAt(readings, loadS / 2);
      // RSS by minute, for the JSON: whether it levels off, and when.
      const byMinute = Object.fromEntries(
        Array.from({ length: Math.floor(loadS / 60) }, (_, i) => [
          `rssMinute${i + 1}KiB`,
          rssAt(readings, (i + 1) * 60),
        ]),
      );
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
        notSentNoClient: sum("notSentNoClient"),
        drainMs: Math.max(...answers.map((r) => r.counts.drainMs ?? 0)),
        caughtUp: sum("caughtUp"),
        // The larger of the load generators' own: their samples stay in their processes.
        caughtUpP50Ms: Math.max(...answers.map((r) => r.counts.caughtUpP50Ms ?? NaN)),
        caughtUpP99Ms: Math.max(...answers.map((r) => r.counts.caughtUpP99Ms ?? NaN)),
        firstMinuteAtS: firstS,
        rssFirstMinuteKiB: rssFirstKiB,
        rssEndKiB,
        rssAfterDrainKiB,
        rssGrowthPct: (100 * (rssEndKiB - rssFirstKiB)) / rssFirstKiB,
        rssMidKiB: midKiB,
        rssSecondHalfGrowthPct: (100 * (rssEndKiB - midKiB)) / midKiB,
        ...byMinute,
        rssMaxKiB: Math.max(...readings.map((r) => r.kiB)),
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
          `${m.duplicates} received again, ${e.reconnects} reconnects, errors ${m.errors}` +
          (m.errorSamples.length ? ` (${m.errorSamples[0]})` : "") +
          `; latency p50 ${m.p50.toFixed(1)} p99 ${m.p99.toFixed(1)} ms (${e.caughtUp} sent ` +
          `while the receiver was away: p50 ${e.caughtUpP50Ms!.toFixed(0)} p99 ${
            e.caughtUpP99Ms!.toFixed(0)
          } ms); RSS ${mib(rssFirstKiB)} MiB after ${firstS.toFixed(0)} s, ${
            mib(rssEndKiB)
          } MiB at the end (${e.rssGrowthPct!.toFixed(1)}%); event-loop delay p99 ${
            loopDelay.eventLoopDelayP99Ms.toFixed(1)
          } ms`,
      );
      return [{ scenario: "soak", variant, target: "parley", rounds: [m] }];
    } finally {
      await Promise.all(workers.map((w) => w.close()));
    }
  });
}
