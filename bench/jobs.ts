/**
 * What the orchestrator (bench/main.ts) asks a load-generator process
 * (bench/load_worker.ts) to do, and what it answers. Jobs travel as JSON in the
 * worker's first argument; the worker writes one JSON object per stdout line
 * (`ready`, then `result`) and reads `go` / `stop` lines on stdin.
 */

/** Which server a worker talks to: they differ only in how a client authenticates. */
export type TargetKind = "parley" | "relay";

interface JobBase {
  url: string;
  target: TargetKind;
  /** HS256 secret the worker signs its tokens with (Parley's JWT_SECRET). */
  secret: string;
  /** Prefix of every user id of this job, so that jobs never share users. */
  prefix: string;
  /** Per-request/ack timeout in milliseconds. */
  timeoutMs: number;
}

/** Pairs of clients talking to each other, each sending with a window of unacknowledged sends. */
export interface BurstJob extends JobBase {
  kind: "burst";
  pairs: number;
  messagesPerClient: number;
  /** Sends in flight per client; 1 = the next message goes when the previous ack arrives. */
  window: number;
}

/** Pairs of clients sending at a fixed total rate (open loop: sends never wait for acks). */
export interface SteadyJob extends JobBase {
  kind: "steady";
  pairs: number;
  /** Messages per second this worker sends, spread over its clients. */
  rate: number;
  durationMs: number;
}

/** Many clients connecting at once and staying idle until told to stop. */
export interface ConnectJob extends JobBase {
  kind: "connect";
  clients: number;
  /** Connections opened at once (the rest wait for a free slot). */
  concurrency: number;
}

/** Sequential getChatHistory requests of one user. */
export interface HistoryJob extends JobBase {
  kind: "history";
  userId: string;
  peerId: string;
  requests: number;
  limit: number;
  /** When given, each request pages from a random one of these ids (`before`). */
  beforeIds?: string[];
}

/** Sequential `GET /api/chats/conversations` requests of one user. */
export interface ConversationsJob extends JobBase {
  kind: "conversations";
  userId: string;
  requests: number;
  limit: number;
}

/** One sender sending `count` messages to a receiver (who may be offline). */
export interface SendJob extends JobBase {
  kind: "send";
  senderId: string;
  receiverId: string;
  count: number;
  window: number;
}

/** One receiver connecting and waiting for `count` messages. */
export interface ReceiveJob extends JobBase {
  kind: "receive";
  userId: string;
  count: number;
}

/**
 * Pairs of clients sending at a fixed total rate for a long time while clients
 * reconnect and some never acknowledge `receiveMessage` (bench/soak.ts).
 */
export interface SoakJob extends JobBase {
  kind: "soak";
  pairs: number;
  /** Messages per second this worker sends, spread over its connected clients. */
  rate: number;
  durationMs: number;
  /** Share of the clients that reconnect per minute, spread evenly over it (0.1 = 10 %). */
  reconnectShare: number;
  /** Every `nonAckEvery`-th client never acknowledges a `receiveMessage` (until the drain). */
  nonAckEvery: number;
  /** How long a reconnecting client stays away, ms: uniform between the two. */
  offlineMs: [number, number];
  /** After the drain: stop waiting once nothing new has arrived for this long, ms. */
  drainQuietMs: number;
}

/** Creates one group of `memberIds` (owned by `ownerId`), answers a `group` line and exits. */
export interface CreateGroupJob extends JobBase {
  kind: "createGroup";
  ownerId: string;
  name: string;
  memberIds: string[];
}

/**
 * This worker's share of one group's members, each on its own socket; `senderIds` of them send
 * `messagesPerSender` messages each to the group, `window` in flight per sender, and every member
 * acknowledges what it receives. Sender and receivers may live in different workers: the send
 * time travels in the message's text.
 */
export interface GroupJob extends JobBase {
  kind: "group";
  groupId: string;
  memberIds: string[];
  senderIds: string[];
  messagesPerSender: number;
  window: number;
  /** Receipts this worker's members get when every send of every worker succeeds. */
  expectedDeliveries: number;
}

export type Job =
  | BurstJob
  | SteadyJob
  | ConnectJob
  | HistoryJob
  | ConversationsJob
  | SendJob
  | ReceiveJob
  | SoakJob
  | CreateGroupJob
  | GroupJob;

/** What every job answers. Times are milliseconds; latencies are raw samples. */
export interface JobResult {
  /** Messages sent and acknowledged `{ok: true}`. */
  acked: number;
  /** Distinct messages received (or requests answered, connections made). */
  received: number;
  /** Messages or requests that failed: `{ok: false}`, timeouts, connect errors. */
  errors: number;
  /** Messages received more than once by one client. */
  duplicates: number;
  /** Acknowledged messages that never reached their receiver. */
  lost: number;
  /** performance.timeOrigin-based wall clock of the first send and the last receive. */
  startedAt: number;
  endedAt: number;
  latencies: number[];
  /** Error samples, for the report (at most a few). */
  errorSamples: string[];
  /** This load generator's CPU (all threads) from "go" to the result, seconds. */
  cpuSeconds: number;
  /** Job-specific counts (the soak's sent, confirmed, reconnects...). */
  counts: Record<string, number>;
}

export type WorkerLine =
  | { type: "ready" }
  | { type: "result"; result: JobResult }
  | { type: "group"; groupId: string }
  | { type: "fatal"; error: string };

export type ControlLine = { type: "go" } | { type: "stop" };

/** The wall clock in milliseconds with sub-millisecond resolution, comparable across processes. */
export function now(): number {
  return performance.timeOrigin + performance.now();
}
