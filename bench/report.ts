/** Medians of rounds, the comparison with the baseline, the targets, and the printed table. */
import type { Measurement, ScenarioResult } from "./scenarios.ts";
import { SOAK_RSS_GROWTH_LIMIT } from "./soak.ts";
import { median, round } from "./stats.ts";

/**
 * A scenario's rounds in one: the figures of a Measurement as medians over
 * rounds (errors, lost and duplicates as sums).
 */
export interface Row extends Measurement {
  scenario: string;
  variant: string;
  target: string;
  rounds: number;
  /** Parley ÷ relay of the same scenario and variant (throughput, p99). */
  vsBaseline?: { throughput: number; p99: number };
}

export interface TargetCheck {
  name: string;
  goal: string;
  measured: string;
  met: boolean;
}

function medianOf(rounds: Measurement[], pick: (m: Measurement) => number): number {
  return median(rounds.map(pick));
}

export function toRows(results: ScenarioResult[]): Row[] {
  const rows = results.map((r): Row => {
    const extraKeys = new Set(r.rounds.flatMap((m) => Object.keys(m.extra)));
    const extra: Record<string, number> = {};
    for (const k of extraKeys) extra[k] = round(medianOf(r.rounds, (m) => m.extra[k] ?? NaN), 2);
    return {
      scenario: r.scenario,
      variant: r.variant,
      target: r.target,
      rounds: r.rounds.length,
      throughput: round(medianOf(r.rounds, (m) => m.throughput), 1),
      p50: round(medianOf(r.rounds, (m) => m.p50), 2),
      p95: round(medianOf(r.rounds, (m) => m.p95), 2),
      p99: round(medianOf(r.rounds, (m) => m.p99), 2),
      errors: r.rounds.reduce((n, m) => n + m.errors, 0),
      lost: r.rounds.reduce((n, m) => n + m.lost, 0),
      duplicates: r.rounds.reduce((n, m) => n + m.duplicates, 0),
      extra,
      errorSamples: r.rounds.flatMap((m) => m.errorSamples).slice(0, 3),
    };
  });
  for (const row of rows) {
    if (row.target !== "parley") continue;
    const base = rows.find((b) =>
      b.target === "relay" && b.scenario === row.scenario && b.variant === row.variant
    );
    if (base) {
      row.vsBaseline = {
        throughput: round(row.throughput / base.throughput, 3),
        p99: round(row.p99 / base.p99, 3),
      };
    }
  }
  return rows;
}

const find = (rows: Row[], scenario: string, target: string) =>
  rows.filter((r) => r.scenario === scenario && r.target === target);

/**
 * The targets, judged on this run: meaningful at full sizes on the
 * SQLite file store (the default `--store sqlite`).
 */
export function checkTargets(rows: Row[]): TargetCheck[] {
  const checks: TargetCheck[] = [];
  for (const p of find(rows, "burst", "parley")) {
    const ratio = p.vsBaseline?.throughput ?? NaN;
    const base = find(rows, "burst", "relay").find((r) => r.variant === p.variant);
    checks.push({
      name: `burst throughput (${p.variant})`,
      goal: "≥ 0.6 × relay",
      measured: `${p.throughput.toFixed(0)}/s = ${ratio.toFixed(2)} × relay (${
        base?.throughput.toFixed(0) ?? "–"
      }/s)`,
      met: ratio >= 0.6,
    });
  }
  for (const p of find(rows, "steady", "parley")) {
    const base = find(rows, "steady", "relay").find((r) => r.variant === p.variant);
    if (!base) continue;
    const limit = base.p99 + 5;
    checks.push({
      name: `steady p99 (${p.variant})`,
      goal: `≤ relay p99 + 5 ms = ${limit.toFixed(1)} ms`,
      measured: `${p.p99.toFixed(1)} ms (relay ${base.p99.toFixed(1)} ms; p50 ${
        p.p50.toFixed(1)
      } ms)`,
      met: p.p99 <= limit,
    });
  }
  for (const p of find(rows, "steady", "parley")) {
    const delay = p.extra.eventLoopDelayP99Ms;
    const measured = delay === undefined || Number.isNaN(delay)
      ? "not measured (no parley_event_loop_delay_seconds in the server's /metrics)"
      : `${delay.toFixed(1)} ms (p50 ${fmt(p.extra.eventLoopDelayP50Ms)} ms, max ${
        fmt(p.extra.eventLoopDelayMaxMs)
      } ms)`;
    checks.push({
      name: "event-loop delay p99 during steady",
      goal: "≤ 5 ms",
      measured,
      met: delay !== undefined && delay <= 5,
    });
  }
  for (const p of find(rows, "store", "parley")) {
    const perSend = p.extra.usPerSend ?? NaN;
    const sql = find(rows, "store", "sqlite");
    const alone = sql.find((r) => r.extra.usPerSend !== undefined)?.extra.usPerSend;
    const raw = sql.find((r) => r.extra.usPerRow !== undefined);
    checks.push({
      name: `store cost per send, receipt included (${p.variant})`,
      goal: "≤ 50 µs",
      measured: `${perSend.toFixed(1)} µs (main thread ${
        fmt(p.extra.mainCpuUsPerSend)
      } µs CPU; the same SQL alone ${fmt(alone)} µs; raw SQLite insert ${
        fmt(raw?.extra.usPerRow)
      } µs/row in ${raw?.variant.replace("raw insert, delivered rows, ", "") ?? "–"})`,
      met: perSend <= 50,
    });
  }
  const reads = [["history", 3], ["conversations", 5]] as const;
  for (const [scenario, limit] of reads) {
    const ps = find(rows, scenario, "parley");
    if (ps.length === 0) continue;
    const worst = Math.max(...ps.map((p) => p.p99));
    const smallest = ps[0]!;
    const largest = ps.at(-1)!;
    checks.push({
      name: `${scenario} p99`,
      goal: `≤ ${limit} ms at every size, flat`,
      measured: ps.map((p) => `${p.variant}: ${p.p99.toFixed(2)} ms`).join("; ") +
        ` (largest ÷ smallest ${(largest.p99 / smallest.p99).toFixed(2)})`,
      met: worst <= limit,
    });
  }
  for (const p of find(rows, "search", "parley")) {
    checks.push({
      name: `search p99 (${p.variant})`,
      goal: "≤ 20 ms at 1,000,000 messages",
      measured: `${p.p99.toFixed(2)} ms (p50 ${fmt(p.p50, 2)}, p95 ${fmt(p.p95, 2)} ms; ${
        fmt(p.extra.meanHits)
      } hits per query of 20)`,
      met: p.p99 <= 20,
    });
  }
  for (const p of find(rows, "connect", "parley")) {
    const perConn = p.extra.rssPerConnectionKiB ?? NaN;
    checks.push({
      name: `RSS per idle connection (${p.variant})`,
      goal: "≤ 25 KiB",
      measured: `${perConn.toFixed(1)} KiB (relay ${
        (find(rows, "connect", "relay")[0]?.extra.rssPerConnectionKiB ?? NaN).toFixed(1)
      } KiB)`,
      met: perConn <= 25,
    });
  }
  for (const p of find(rows, "group", "parley")) {
    const base = find(rows, "group", "relay").find((r) => r.variant === p.variant);
    checks.push({
      name: `group fan-out (${p.variant})`,
      goal: "0 lost, no errors (throughput and p99 beside the relay's room: printed, no goal)",
      measured: `${p.throughput.toFixed(0)} deliveries/s = ${
        fmt(p.vsBaseline?.throughput, 2)
      } × relay room (${fmt(base?.throughput, 0)}/s); send → receipt p50 ${fmt(p.p50)} / p99 ${
        fmt(p.p99)
      } ms = ${fmt(p.vsBaseline?.p99, 2)} × relay (${fmt(base?.p99)} ms); server CPU ${
        fmt(p.extra.serverCpuUsPerDelivery)
      } µs/delivery (relay ${
        fmt(base?.extra.serverCpuUsPerDelivery)
      }); ${p.lost} lost, ${p.errors} errors`,
      met: p.lost === 0 && p.errors === 0,
    });
  }
  for (const p of find(rows, "soak", "parley")) {
    const e = p.extra;
    const first = e.rssFirstMinuteKiB ?? NaN;
    const end = e.rssEndKiB ?? NaN;
    checks.push({
      name: `soak RSS (${p.variant})`,
      goal: `at the end ≤ after the first minute + ${SOAK_RSS_GROWTH_LIMIT * 100}%`,
      measured:
        `${fmt(first / 1024)} MiB after ${fmt(e.firstMinuteAtS, 0)} s, ${
          fmt(end / 1024)
        } MiB at the end (${fmt(e.rssGrowthPct)}%; ${
          fmt(e.rssSecondHalfGrowthPct)
        }% over the second half; max ${fmt((e.rssMaxKiB ?? NaN) / 1024)} MiB); ` +
        `server event-loop delay p99 ${fmt(e.eventLoopDelayP99Ms)} ms (max ${
          fmt(e.eventLoopDelayMaxMs)
        } ms; printed, no goal)`,
      met: end <= first * (1 + SOAK_RSS_GROWTH_LIMIT),
    });
    checks.push({
      name: "soak messages lost",
      goal: "0 (every confirmed message received by its receiver by the end)",
      measured: `${e.sent} sent, ${e.acked} confirmed, ${e.received} received, ${p.lost} lost, ` +
        `${p.errors} errors; send → receive p50 ${fmt(p.p50)} / p99 ${fmt(p.p99)} ms (${
          fmt(e.caughtUp, 0)
        } sent while the receiver was away: p99 ${fmt(e.caughtUpP99Ms, 0)} ms)`,
      met: p.lost === 0 && (e.acked ?? 0) > 0,
    });
  }
  return checks;
}

function fmt(n: number | undefined, digits = 1): string {
  if (n === undefined || Number.isNaN(n)) return "–";
  return n.toFixed(digits);
}

/** What the notes column shows for a row. */
function notes(row: Row): string {
  const parts: string[] = [];
  if (row.vsBaseline) {
    parts.push(`${fmt(row.vsBaseline.throughput, 2)}× tput, ${fmt(row.vsBaseline.p99, 2)}× p99`);
  }
  const e = row.extra;
  if (e.messagesPerSecond !== undefined) {
    parts.push(
      `${fmt(e.messagesPerSecond, 0)} msgs/s to the whole group, server CPU ${
        fmt(e.serverCpuUsPerDelivery)
      } µs/delivery`,
    );
  }
  if (e.usPerSend !== undefined) parts.push(`${fmt(e.usPerSend)} µs/send`);
  if (e.usPerRow !== undefined) parts.push(`${fmt(e.usPerRow)} µs/row`);
  if (e.mainCpuUsPerSend !== undefined) {
    parts.push(
      `CPU/send: main ${fmt(e.mainCpuUsPerSend)} µs, SQLite worker ${
        fmt(e.workerCpuUsPerSend)
      } µs, other ${fmt(e.otherCpuUsPerSend)} µs`,
    );
  }
  if (e.batchMeanWrites !== undefined) {
    parts.push(
      `batches of ${fmt(e.batchMeanWrites, 0)} writes, round trip p50 ${
        fmt(e.batchRoundTripP50Ms, 2)
      } / p99 ${fmt(e.batchRoundTripP99Ms, 2)} ms, postMessage ${
        fmt(e.postUsPerWrite, 2)
      } µs/write`,
    );
  }
  if (e.commitP50Ms !== undefined) parts.push(`COMMIT p50 ${fmt(e.commitP50Ms, 2)} ms`);
  if (e.meanHits !== undefined) {
    parts.push(
      `${fmt(e.meanHits)} hits/query, store seeded at ${fmt(e.seedPerSecond, 0)} msgs/s, ${
        fmt(e.fileMiB, 0)
      } MiB`,
    );
  }
  if (e.timeToAllMs !== undefined) parts.push(`all in ${fmt(e.timeToAllMs / 1000, 2)} s`);
  if (e.cpuMainPct !== undefined) {
    // Threads named worker-N: the SQLite writer and reader (none on the relay or MongoDB).
    const workers = e.cpuWorkersPct ? ` + ${fmt(e.cpuWorkersPct, 0)}% SQLite workers` : "";
    parts.push(
      `server CPU ${fmt(e.cpuMainPct, 0)}% JS${workers} + ${fmt(e.cpuOtherPct, 0)}% other`,
    );
  }
  if (e.loadCpuPct !== undefined) {
    parts.push(
      `load generators ${fmt(e.loadCpuPct, 0)}%, elsewhere ${fmt(e.elsewhereCpuPct, 0)}%, machine ${
        fmt(e.machineBusyPct, 0)
      }% busy`,
    );
  }
  if (e.serverAckP50Ms !== undefined) {
    // A histogram bound: "≤ 5 ms", or past the largest finite bucket.
    const bound = (ms: number | undefined) =>
      ms === Infinity ? "above every bucket" : `≤ ${fmt(ms)} ms`;
    parts.push(`server send→ack p50 ${bound(e.serverAckP50Ms)}, p99 ${bound(e.serverAckP99Ms)}`);
  }
  if (e.storeBatchMeanWrites !== undefined) {
    parts.push(
      `store batches ${fmt(e.storeBatchMeanWrites, 0)} writes mean (p99 ${
        fmt(e.storeBatchP99Writes, 0)
      }), round trip p50 ${fmt(e.storeRoundTripP50Ms, 2)} / p99 ${
        fmt(e.storeRoundTripP99Ms, 1)
      } ms, reply drain p99 ${fmt(e.storeDrainP99Ms, 1)} ms, postMessage ${
        fmt(e.storePostUsPerWrite, 2)
      } µs/write`,
    );
  }
  if (e.eventLoopDelayP99Ms !== undefined) {
    parts.push(
      `server event-loop delay p50 ${fmt(e.eventLoopDelayP50Ms)}, p99 ${
        fmt(e.eventLoopDelayP99Ms)
      }, max ${fmt(e.eventLoopDelayMaxMs)} ms`,
    );
  }
  if (e.rssPerConnectionKiB !== undefined) {
    parts.push(
      `RSS ${fmt(e.rssPerConnectionKiB)} KiB/conn idle (${fmt(e.rssPerConnectionSoonKiB)} at 3 s)`,
    );
  }
  if (e.rssFirstMinuteKiB !== undefined) {
    parts.push(
      `RSS ${fmt(e.rssFirstMinuteKiB / 1024)} MiB after ${fmt(e.firstMinuteAtS, 0)} s, ${
        fmt((e.rssEndKiB ?? NaN) / 1024)
      } at the end (${fmt((e.rssMidKiB ?? NaN) / 1024)} at half time: ${
        fmt(e.rssSecondHalfGrowthPct)
      }% over the second half), ${fmt((e.rssAfterDrainKiB ?? NaN) / 1024)} after the drain; ${
        fmt(e.reconnects, 0)
      } reconnects, ${row.duplicates} received again, ${
        fmt(e.unackedReceipts, 0)
      } receipts left unacknowledged`,
    );
  }
  if (e.sendPhaseMs !== undefined && row.target === "parley") {
    parts.push(`stored in ${fmt(e.sendPhaseMs / 1000, 2)} s`);
  }
  return parts.join(", ");
}

/** A Markdown table: readable on a terminal and pasteable into BENCHMARKS.md. */
export function formatTable(rows: Row[]): string {
  const header = [
    "Scenario",
    "Case",
    "Target",
    "Throughput /s",
    "p50 ms",
    "p95 ms",
    "p99 ms",
    "Errors",
    "Lost",
    "Notes",
  ];
  const body = rows.map((r) => [
    r.scenario,
    r.variant,
    r.target,
    fmt(r.throughput, 0),
    fmt(r.p50, 2),
    fmt(r.p95, 2),
    fmt(r.p99, 2),
    String(r.errors),
    String(r.lost),
    notes(r),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) =>
    `| ${
      cells.map((c, i) => (i >= 3 && i <= 8 ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join(
        " | ",
      )
    } |`;
  const rule = `| ${
    widths.map((w, i) => (i >= 3 && i <= 8 ? "-".repeat(w - 1) + ":" : "-".repeat(w))).join(" | ")
  } |`;
  return [line(header), rule, ...body.map(line)].join("\n");
}

export function formatTargets(checks: TargetCheck[]): string {
  const verdict = (c: TargetCheck) => c.met ? "PASS" : "MISS";
  return checks.map((c) => `${verdict(c)}  ${c.name}: ${c.measured}  [goal ${c.goal}]`)
    .join("\n");
}
