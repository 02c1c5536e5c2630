/**
 * Prometheus metrics, served at `/metrics`. One registry per Parley instance,
 * so that tests running several servers in one process do not mix counts.
 */
import client from "prom-client";

/** Values read when Prometheus scrapes, from parts built after the metrics. */
export interface GaugeSources {
  connectedSockets(): number;
  onlineUsers(): number;
}

export interface Metrics {
  readonly registry: client.Registry;
  /** Set once the server's parts exist; until then the gauges read 0. */
  sources: GaugeSources;
  readonly connectedSockets: client.Gauge;
  readonly onlineUsers: client.Gauge;
  readonly messagesSent: client.Counter;
  readonly messagesDelivered: client.Counter;
  readonly messagesRead: client.Counter;
  readonly eventDuration: client.Histogram<"event">;
  readonly storeDuration: client.Histogram<"operation">;
  readonly errors: client.Counter<"code">;
  readonly rateLimited: client.Counter<"limit">;
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

export function createMetrics(): Metrics {
  const registry = new client.Registry();
  const registers = [registry];
  client.collectDefaultMetrics({ register: registry, prefix: "parley_" });
  const metrics: Metrics = {
    registry,
    sources: { connectedSockets: () => 0, onlineUsers: () => 0 },
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
