/**
 * Prometheus metrics, served at `/metrics`. One registry per Parley instance,
 * so that tests running several servers in one process do not mix counts.
 */
import client from "prom-client";
import { registerProcessMetrics } from "./process_metrics.ts";
import type { ErrorCode, ErrorReport } from "../errors.ts";
import { errorFields, type Logger } from "../log.ts";

/** Values read when Prometheus scrapes, from parts built after the metrics. */
export interface GaugeSources {
  connectedSockets(): number;
  onlineUsers(): number;
  engineSessions(): number;
}

export interface Metrics {
  readonly registry: client.Registry;
  /**
   * Starts sampling the event loop's delay for `parley_event_loop_delay_seconds`;
   * returns the function that stops it. Once per process part that serves clients.
   */
  monitorEventLoop(): () => void;
  /** Set once the server's parts exist; until then the gauges read 0. */
  sources: GaugeSources;
  readonly connectedSockets: client.Gauge;
  readonly onlineUsers: client.Gauge;
  readonly engineSessions: client.Gauge;
  readonly messagesSent: client.Counter;
  readonly messagesDelivered: client.Counter;
  readonly messagesRead: client.Counter;
  readonly eventDuration: client.Histogram<"event">;
  readonly storeDuration: client.Histogram<"operation">;
  /** Counted through `errorReport`, by `toErrorBody`: every refusal passes there. */
  readonly errors: client.Counter<"code">;
  readonly rateLimited: client.Counter<"limit">;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** The loop-delay probe: a timer due every this many ms. */
const LOOP_PROBE_MS = 10;
/** Seconds of probe samples the quantiles cover (a ring of per-second sample lists). */
const LOOP_WINDOW_SECONDS = 10;
const LOOP_QUANTILES = [0.5, 0.99, 1] as const;

/**
 * How late a timer due every LOOP_PROBE_MS fires on the JavaScript thread, over the last
 * LOOP_WINDOW_SECONDS. `perf_hooks.monitorEventLoopDelay` would be the tool, but under
 * Deno 2.9.6 it samples off that thread and reports microseconds through a 1 s block.
 * Ticks a block swallowed are counted as the delays they would have seen (200 ms late:
 * 200, 190, ... 10 ms, as HdrHistogram's expected-interval correction does), so that the
 * quantiles are shares of time rather than of wake-ups, which a long block makes few.
 */
class LoopDelayProbe {
  private readonly ring = Array.from(
    { length: LOOP_WINDOW_SECONDS },
    () => ({ second: -1, samples: [] as number[] }),
  );
  private timer: ReturnType<typeof setTimeout> | undefined;

  start(): () => void {
    if (this.timer === undefined) this.schedule();
    return () => {
      clearTimeout(this.timer);
      this.timer = undefined;
    };
  }

  /** Nearest-rank quantiles in seconds, or undefined before the first sample. */
  quantiles(): number[] | undefined {
    const now = Math.floor(performance.now() / 1000);
    const samples = this.ring.filter((slot) => slot.second > now - LOOP_WINDOW_SECONDS)
      .flatMap((slot) => slot.samples).sort((a, b) => a - b);
    if (samples.length === 0) return undefined;
    return LOOP_QUANTILES.map((q) => samples[Math.ceil(q * samples.length) - 1]! / 1000);
  }

  private schedule(): void {
    const due = performance.now() + LOOP_PROBE_MS;
    const timer = setTimeout(() => {
      const now = performance.now();
      const late = Math.max(0, now - due);
      this.record(now, late);
      for (let lost = late - LOOP_PROBE_MS; lost >= LOOP_PROBE_MS; lost -= LOOP_PROBE_MS) {
        this.record(now, lost);
      }
      this.schedule();
    }, LOOP_PROBE_MS);
    // Shutdown stops the probe; until then it must not be what keeps the process alive.
    Deno.unrefTimer(timer);
    this.timer = timer;
  }

  private record(now: number, lateMs: number): void {
    const second = Math.floor(now / 1000);
    const slot = this.ring[second % LOOP_WINDOW_SECONDS]!;
    if (slot.second !== second) {
      slot.second = second;
      slot.samples = [];
    }
    slot.samples.push(lateMs);
  }
}

export function createMetrics(): Metrics {
  const registry = new client.Registry();
  const registers = [registry];
  client.collectDefaultMetrics({ register: registry, prefix: "parley_" });
  registerProcessMetrics(registry, "parley_");
  const loop = new LoopDelayProbe();
  new client.Gauge({
    name: "parley_event_loop_delay_seconds",
    help: `How late a timer due every ${LOOP_PROBE_MS} ms fired on the JavaScript thread, ` +
      `over the last ${LOOP_WINDOW_SECONDS} s (per-second samples, ticks lost in a block ` +
      `counted), by quantile (1 = max). perf_hooks' monitorEventLoopDelay, behind ` +
      `parley_nodejs_eventloop_lag_*, does not see the thread blocked under Deno 2.9.6.`,
    labelNames: ["quantile"],
    registers,
    collect() {
      this.reset();
      const values = loop.quantiles();
      LOOP_QUANTILES.forEach((q, i) => {
        if (values) this.set({ quantile: String(q) }, values[i]!);
      });
    },
  });
  const metrics: Metrics = {
    registry,
    monitorEventLoop: () => loop.start(),
    sources: { connectedSockets: () => 0, onlineUsers: () => 0, engineSessions: () => 0 },
    connectedSockets: new client.Gauge({
      name: "parley_connected_sockets",
      help: "Socket.IO connections open on this process",
      registers,
      collect() {
        this.set(metrics.sources.connectedSockets());
      },
    }),
    onlineUsers: new client.Gauge({
      name: "parley_online_users",
      help: "Users with at least one socket on this process",
      registers,
      collect() {
        this.set(metrics.sources.onlineUsers());
      },
    }),
    engineSessions: new client.Gauge({
      name: "parley_engine_sessions",
      help: "Engine.IO sessions open on this process, authenticated or not (MAX_PENDING_SESSIONS " +
        "bounds the unauthenticated ones)",
      registers,
      collect() {
        this.set(metrics.sources.engineSessions());
      },
    }),
    messagesSent: new client.Counter({
      name: "parley_messages_sent_total",
      help: "Messages stored and confirmed (duplicates not counted)",
      registers,
    }),
    messagesDelivered: new client.Counter({
      name: "parley_messages_delivered_total",
      help: "Delivery acknowledgements received from receivers' devices",
      registers,
    }),
    messagesRead: new client.Counter({
      name: "parley_messages_read_total",
      help: "Messages marked read for the first time",
      registers,
    }),
    eventDuration: new client.Histogram({
      name: "parley_event_duration_seconds",
      help: "Time to handle a client socket event, by event",
      labelNames: ["event"],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    storeDuration: new client.Histogram({
      name: "parley_store_duration_seconds",
      help: "Time of each repository call, by operation",
      labelNames: ["operation"],
      buckets: LATENCY_BUCKETS,
      registers,
    }),
    errors: new client.Counter({
      name: "parley_errors_total",
      help: "Errors answered to clients (socket and REST), by code",
      labelNames: ["code"],
      registers,
    }),
    rateLimited: new client.Counter({
      name: "parley_rate_limited_total",
      help: "Requests refused by a rate limit, by limit",
      labelNames: ["limit"],
      registers,
    }),
  };
  return metrics;
}

/**
 * Reports into `parley_errors_total{code}`, and logs an unexpected error as
 * `message` with `fields` and its details.
 */
export function errorReport(
  metrics: Metrics,
  log: Logger,
  message: string,
  fields: Record<string, unknown> = {},
): ErrorReport {
  return {
    count: (code: ErrorCode) => metrics.errors.inc({ code }),
    unexpected: (err) => log.error(message, { ...fields, ...errorFields(err) }),
  };
}
