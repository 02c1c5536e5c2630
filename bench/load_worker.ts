/**
 * A load-generator process: real Socket.IO clients (websocket transport) on
 * loopback, driven by one job from bench/jobs.ts. Started by bench/main.ts:
 *
 *   deno run -A bench/load_worker.ts '<job as JSON>'
 *
 * Latency is measured send → receive inside this process (a pair's two
 * clients live in the same worker), so no clocks are compared across processes.
 */
import process from "node:process";
import { SignJWT } from "jose";
import { io, type Socket } from "socket.io-client";
import {
  type BurstJob,
  type ConnectJob,
  type ControlLine,
  type ConversationsJob,
  type HistoryJob,
  type Job,
  type JobResult,
  now,
  type ReceiveJob,
  type SendJob,
  type SteadyJob,
  type WorkerLine,
} from "./jobs.ts";

type Ack = { ok: boolean; code?: string; error?: string; messages?: unknown[] };
type Received = { clientMessageId?: string | null };

const MAX_ERROR_SAMPLES = 5;

class Tally {
  acked = 0;
  received = 0;
  errors = 0;
  duplicates = 0;
  lost = 0;
  startedAt = 0;
  endedAt = 0;
  readonly latencies: number[] = [];
  readonly errorSamples: string[] = [];

  error(what: string): void {
    this.errors++;
    if (this.errorSamples.length < MAX_ERROR_SAMPLES) this.errorSamples.push(what);
  }

  result(): JobResult {
    const cpu = cpuAtGo && process.cpuUsage(cpuAtGo);
    return {
      ...this,
      latencies: this.latencies.map((l) => Math.round(l * 100) / 100),
      cpuSeconds: cpu ? (cpu.user + cpu.system) / 1e6 : NaN,
    };
  }
}

function emit(line: WorkerLine): void {
  Deno.stdout.writeSync(new TextEncoder().encode(JSON.stringify(line) + "\n"));
}

/** Control lines from the orchestrator, in order. */
async function* controlLines(): AsyncGenerator<ControlLine> {
  let buffer = "";
  for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
    buffer += chunk;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      const line = buffer.slice(0, newline).trim();
      buffer = buffer.slice(newline + 1);
      if (line) yield JSON.parse(line) as ControlLine;
    }
  }
}

const control = controlLines();

/** This process's CPU use when "go" arrived (all threads), for the result's `cpuSeconds`. */
let cpuAtGo: NodeJS.CpuUsage | undefined;

async function waitFor(type: ControlLine["type"]): Promise<void> {
  for (;;) {
    const { value, done } = await control.next();
    if (done) Deno.exit(0); // the orchestrator went away
    if (value.type === type) {
      if (type === "go") cpuAtGo = process.cpuUsage();
      return;
    }
  }
}

function token(job: Job, userId: string): Promise<string> {
  return new SignJWT({})
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime("2h")
    .sign(new TextEncoder().encode(job.secret));
}

/** Connects one websocket client; resolves once connected, rejects on connect_error. */
async function connect(job: Job, userId: string): Promise<Socket> {
  const auth = job.target === "parley" ? { token: await token(job, userId) } : { userId };
  const socket = io(job.url, {
    transports: ["websocket"],
    auth,
    forceNew: true,
    reconnection: false,
    timeout: job.timeoutMs,
  });
  return await new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err) => {
      socket.close();
      reject(err);
    });
  });
}

async function connectAll(job: Job, userIds: string[], concurrency = 200): Promise<Socket[]> {
  const sockets: Socket[] = new Array(userIds.length);
  let next = 0;
  const lane = async () => {
    while (next < userIds.length) {
      const i = next++;
      sockets[i] = await connect(job, userIds[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, userIds.length) }, lane));
  return sockets;
}

function closeAll(sockets: Socket[]): void {
  for (const socket of sockets) socket?.close();
}

/** A message's clientMessageId: unique per worker, carried back by the receiver. */
function messageText(id: string): string {
  return `bench message ${id}`;
}

/**
 * Clients 2i and 2i+1 talk to each other. Each receiver acknowledges every
 * `receiveMessage` (Parley's delivery ack) and records the latency of first receipts.
 */
function pairUp(job: BurstJob | SteadyJob, sockets: Socket[], tally: Tally) {
  const sentAt = new Map<string, number>();
  const seen = new Set<string>();
  for (const socket of sockets) {
    socket.on("receiveMessage", (message: Received, ack?: () => void) => {
      ack?.();
      const id = message.clientMessageId ?? "";
      if (seen.has(id)) {
        tally.duplicates++;
        return;
      }
      seen.add(id);
      const t = now();
      const at = sentAt.get(id);
      if (at !== undefined) tally.latencies.push(t - at);
      tally.received++;
      tally.endedAt = t;
    });
  }
  const peerOf = (i: number) => `${job.prefix}${i ^ 1}`;
  let seq = 0;
  const send = (i: number, onAck?: () => void) => {
    const id = `${job.prefix}${i}.${seq++}`;
    sentAt.set(id, now());
    sockets[i]!.timeout(job.timeoutMs).emit(
      "sendMessage",
      { receiverId: peerOf(i), text: messageText(id), clientMessageId: id },
      (err: Error | null, ack: Ack) => {
        if (err) tally.error(`ack timeout`);
        else if (!ack.ok) tally.error(`${ack.code}: ${ack.error}`);
        else tally.acked++;
        onAck?.();
      },
    );
  };
  return { send, seen };
}

/** Waits until `done()` or until nothing new has arrived for `quietMs`. */
async function settle(done: () => boolean, progress: () => number, quietMs: number) {
  let last = progress();
  let lastChange = Date.now();
  while (!done()) {
    await new Promise((r) => setTimeout(r, 20));
    const p = progress();
    if (p !== last) [last, lastChange] = [p, Date.now()];
    else if (Date.now() - lastChange > quietMs) return;
  }
}

async function runBurst(job: BurstJob): Promise<Tally> {
  const tally = new Tally();
  const users = Array.from({ length: job.pairs * 2 }, (_, i) => `${job.prefix}${i}`);
  const sockets = await connectAll(job, users);
  const { send } = pairUp(job, sockets, tally);
  emit({ type: "ready" });
  await waitFor("go");
  tally.startedAt = now();
  let answered = 0;
  const total = sockets.length * job.messagesPerClient;
  await new Promise<void>((resolve) => {
    sockets.forEach((_, i) => {
      let sent = 0;
      const next = () => {
        answered++;
        if (answered === total) resolve();
        if (sent < job.messagesPerClient) {
          sent++;
          send(i, next);
        }
      };
      for (let w = 0; w < job.window && sent < job.messagesPerClient; w++) {
        sent++;
        send(i, next);
      }
    });
  });
  await settle(() => tally.received >= tally.acked, () => tally.received, job.timeoutMs);
  tally.lost = Math.max(0, tally.acked - tally.received);
  closeAll(sockets);
  return tally;
}

async function runSteady(job: SteadyJob): Promise<Tally> {
  const tally = new Tally();
  const users = Array.from({ length: job.pairs * 2 }, (_, i) => `${job.prefix}${i}`);
  const sockets = await connectAll(job, users);
  const { send } = pairUp(job, sockets, tally);
  emit({ type: "ready" });
  await waitFor("go");
  const start = now();
  tally.startedAt = start;
  let sent = 0;
  let answered = 0;
  let next = 0;
  const onAck = () => void answered++;
  // Open loop: every tick sends what the schedule says is due, whatever came back.
  while (now() - start < job.durationMs) {
    const due = Math.floor(((now() - start) * job.rate) / 1000);
    for (; sent < due; sent++) {
      send(next, onAck);
      next = (next + 1) % sockets.length;
    }
    await new Promise((r) => setTimeout(r, 2));
  }
  await settle(
    () => answered >= sent && tally.received >= tally.acked,
    () => answered + tally.received,
    job.timeoutMs,
  );
  tally.lost = Math.max(0, tally.acked - tally.received);
  closeAll(sockets);
  return tally;
}

async function runConnect(job: ConnectJob): Promise<Tally> {
  const tally = new Tally();
  const users = Array.from({ length: job.clients }, (_, i) => `${job.prefix}${i}`);
  // Tokens are signed before the clock starts: the storm measures the server.
  const auths = await Promise.all(
    users.map(async (u) =>
      job.target === "parley" ? { token: await token(job, u) } : { userId: u }
    ),
  );
  emit({ type: "ready" });
  await waitFor("go");
  tally.startedAt = now();
  const sockets: Socket[] = [];
  let nextIndex = 0;
  const lane = async () => {
    while (nextIndex < users.length) {
      const i = nextIndex++;
      const t0 = now();
      const socket = io(job.url, {
        transports: ["websocket"],
        auth: auths[i],
        forceNew: true,
        reconnection: false,
        timeout: job.timeoutMs,
      });
      sockets.push(socket);
      await new Promise<void>((resolve) => {
        socket.once("connect", () => {
          const t = now();
          tally.latencies.push(t - t0);
          tally.received++;
          tally.endedAt = t;
          resolve();
        });
        socket.once("connect_error", (err) => {
          tally.error(`connect_error: ${err.message}`);
          resolve();
        });
      });
    }
  };
  await Promise.all(Array.from({ length: Math.min(job.concurrency, users.length) }, lane));
  emit({ type: "result", result: tally.result() });
  await waitFor("stop");
  closeAll(sockets);
  return tally;
}

/**
 * Sends `count` requests one after another and times each; `request` answers
 * what was wrong with its response, or null when it was what was expected.
 */
async function timeInSequence(
  tally: Tally,
  count: number,
  request: () => Promise<string | null>,
): Promise<void> {
  tally.startedAt = now();
  for (let i = 0; i < count; i++) {
    const t0 = now();
    try {
      const problem = await request();
      const t = now();
      if (problem) tally.error(problem);
      else {
        tally.latencies.push(t - t0);
        tally.received++;
      }
      tally.endedAt = t;
    } catch (err) {
      tally.error(String(err));
    }
  }
}

async function runHistory(job: HistoryJob): Promise<Tally> {
  const tally = new Tally();
  const [socket] = await connectAll(job, [job.userId]);
  emit({ type: "ready" });
  await waitFor("go");
  await timeInSequence(tally, job.requests, async () => {
    const before = job.beforeIds?.[Math.floor(Math.random() * job.beforeIds.length)];
    const ack: Ack = await socket!.timeout(job.timeoutMs).emitWithAck("getChatHistory", {
      userId1: job.userId,
      userId2: job.peerId,
      limit: job.limit,
      ...(before ? { before } : {}),
    });
    if (!ack.ok) return `${ack.code}: ${ack.error}`;
    if (job.target === "parley" && ack.messages?.length !== job.limit) {
      return `expected ${job.limit} messages, got ${ack.messages?.length}`;
    }
    return null;
  });
  socket!.close();
  return tally;
}

async function runConversations(job: ConversationsJob): Promise<Tally> {
  const tally = new Tally();
  const headers = { authorization: `Bearer ${await token(job, job.userId)}` };
  const path = job.target === "parley" ? "/api/chats/conversations" : "/";
  emit({ type: "ready" });
  await waitFor("go");
  await timeInSequence(tally, job.requests, async () => {
    const res = await fetch(`${job.url}${path}?limit=${job.limit}`, {
      headers,
      signal: AbortSignal.timeout(job.timeoutMs),
    });
    const body = await res.json();
    if (!res.ok) return `HTTP ${res.status}`;
    if (job.target === "parley" && body.length !== job.limit) {
      return `expected ${job.limit} rows, got ${body.length}`;
    }
    return null;
  });
  return tally;
}

async function runSend(job: SendJob): Promise<Tally> {
  const tally = new Tally();
  const [socket] = await connectAll(job, [job.senderId]);
  emit({ type: "ready" });
  await waitFor("go");
  tally.startedAt = now();
  let sent = 0;
  let answered = 0;
  await new Promise<void>((resolve) => {
    const next = () => {
      if (sent >= job.count) return;
      const id = `${job.prefix}${sent++}`;
      socket!.timeout(job.timeoutMs).emit(
        "sendMessage",
        { receiverId: job.receiverId, text: messageText(id), clientMessageId: id },
        (err: Error | null, ack: Ack) => {
          if (err) tally.error("ack timeout");
          else if (!ack.ok) tally.error(`${ack.code}: ${ack.error}`);
          else tally.acked++;
          tally.endedAt = now();
          if (++answered === job.count) resolve();
          next();
        },
      );
    };
    for (let w = 0; w < job.window; w++) next();
  });
  socket!.close();
  return tally;
}

async function runReceive(job: ReceiveJob): Promise<Tally> {
  const tally = new Tally();
  const auth = job.target === "parley" ? { token: await token(job, job.userId) } : {
    userId: job.userId,
  };
  const seen = new Set<string>();
  // The relay cannot hold messages for an offline user: its receiver connects first.
  const open = () => {
    const socket = io(job.url, {
      transports: ["websocket"],
      auth,
      forceNew: true,
      reconnection: false,
      timeout: job.timeoutMs,
    });
    socket.on("receiveMessage", (message: Received, ack?: () => void) => {
      ack?.();
      const id = message.clientMessageId ?? "";
      if (seen.has(id)) return void tally.duplicates++;
      seen.add(id);
      const t = now();
      tally.latencies.push(t - tally.startedAt);
      tally.received++;
      tally.endedAt = t;
    });
    return socket;
  };
  let socket: Socket | undefined;
  if (job.target === "relay") {
    socket = open();
    await new Promise<void>((resolve) => socket!.once("connect", () => resolve()));
  }
  emit({ type: "ready" });
  await waitFor("go");
  tally.startedAt = now();
  socket ??= open();
  await settle(() => tally.received >= job.count, () => tally.received, job.timeoutMs);
  tally.lost = job.count - tally.received;
  socket.close();
  return tally;
}

async function run(job: Job): Promise<Tally> {
  switch (job.kind) {
    case "burst":
      return await runBurst(job);
    case "steady":
      return await runSteady(job);
    case "connect":
      return await runConnect(job);
    case "history":
      return await runHistory(job);
    case "conversations":
      return await runConversations(job);
    case "send":
      return await runSend(job);
    case "receive":
      return await runReceive(job);
  }
}

if (import.meta.main) {
  try {
    const job = JSON.parse(Deno.args[0] ?? "") as Job;
    const tally = await run(job);
    if (job.kind !== "connect") emit({ type: "result", result: tally.result() });
    Deno.exit(0);
  } catch (err) {
    emit({ type: "fatal", error: err instanceof Error ? err.stack ?? err.message : String(err) });
    Deno.exit(1);
  }
}
