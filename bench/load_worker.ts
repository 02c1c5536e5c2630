/**
 * A load-generator process: real Socket.IO clients (websocket transport) on
 * loopback, driven by one job from bench/jobs.ts. Started by bench/main.ts:
 *
 *   deno run -A bench/load_worker.ts '<job as JSON>'
 *
 * Latency is measured send → receive inside this process (a pair's two
 * clients live in the same worker), so no clocks are compared across processes;
 * the group's members are spread over workers, and its send times (`now()`, the
 * machine's clock) travel in the text.
 */
import process from "node:process";
import { SignJWT } from "jose";
import { io, type Socket } from "socket.io-client";
import {
  type BurstJob,
  type ConnectJob,
  type ControlLine,
  type ConversationsJob,
  type CreateGroupJob,
  type GroupJob,
  type HistoryJob,
  type Job,
  type JobResult,
  now,
  type ReceiveJob,
  type SendJob,
  type SoakJob,
  type SteadyJob,
  type WorkerLine,
} from "./jobs.ts";
import { summarize } from "./stats.ts";

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
  readonly counts: Record<string, number> = {};

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

/**
 * Connects one websocket client; resolves once connected, rejects on connect_error.
 * `listen` adds listeners before the connection opens, so that none of what the
 * server sends right after the connect (a catch-up) goes unheard.
 */
async function connect(
  job: Job,
  userId: string,
  listen?: (socket: Socket) => void,
): Promise<Socket> {
  const auth = job.target === "parley" ? { token: await token(job, userId) } : { userId };
  const socket = io(job.url, {
    transports: ["websocket"],
    auth,
    forceNew: true,
    reconnection: false,
    timeout: job.timeoutMs,
  });
  listen?.(socket);
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

// ---------------------------------------------------------------- group

type GroupAck = Ack & { group?: { _id: string } };
type GroupReceived = Received & { text?: string | null };

async function runCreateGroup(job: CreateGroupJob): Promise<Tally> {
  const [socket] = await connectAll(job, [job.ownerId]);
  const ack: GroupAck = await socket!.timeout(job.timeoutMs).emitWithAck("createGroup", {
    name: job.name,
    memberIds: job.memberIds,
  });
  socket!.close();
  if (!ack.ok || !ack.group) throw new Error(`createGroup: ${ack.code}: ${ack.error}`);
  emit({ type: "group", groupId: ack.group._id });
  return new Tally();
}

/** The send time rides in the text: the receivers are in other workers than the sender. */
function groupText(id: string, sentAt: number): string {
  return `${messageText(id)} @${sentAt}`;
}

function sentAtOf(text: string | null | undefined): number {
  return Number(text?.slice(text.lastIndexOf("@") + 1));
}

/**
 * Members receive (and acknowledge) on their own sockets; senders send with a
 * window, the next message when an ack comes back. Latency is send → receipt
 * of every member: a message counts once per member that gets it. Lost is the
 * orchestrator's to judge (acked sends × other members − receipts of all workers).
 */
async function runGroup(job: GroupJob): Promise<Tally> {
  const tally = new Tally();
  const sockets = await connectAll(job, job.memberIds);
  for (const socket of sockets) {
    const seen = new Set<string>();
    socket.on("receiveMessage", (message: GroupReceived, ack?: () => void) => {
      ack?.();
      const id = message.clientMessageId ?? "";
      if (seen.has(id)) return void tally.duplicates++;
      seen.add(id);
      const t = now();
      const sentAt = sentAtOf(message.text);
      if (Number.isFinite(sentAt)) tally.latencies.push(t - sentAt);
      tally.received++;
      tally.endedAt = t;
    });
  }
  const sendFrom = async (socket: Socket, senderId: string) => {
    let sent = 0;
    const lane = async () => {
      while (sent < job.messagesPerSender) {
        const id = `${senderId}.${sent++}`;
        try {
          const ack: Ack = await socket.timeout(job.timeoutMs).emitWithAck("sendMessage", {
            groupId: job.groupId,
            text: groupText(id, now()),
            clientMessageId: id,
          });
          if (ack.ok) tally.acked++;
          else tally.error(`${ack.code}: ${ack.error}`);
        } catch {
          tally.error("ack timeout");
        }
      }
    };
    await Promise.all(Array.from({ length: job.window }, lane));
  };
  emit({ type: "ready" });
  await waitFor("go");
  tally.startedAt = now();
  await Promise.all(
    job.senderIds.map((id) => sendFrom(sockets[job.memberIds.indexOf(id)]!, id)),
  );
  await settle(
    () => tally.received >= job.expectedDeliveries,
    () => tally.received,
    job.timeoutMs,
  );
  closeAll(sockets);
  return tally;
}

// ---------------------------------------------------------------- soak

/** One user of the soak, whose connection comes and goes. */
interface SoakClient {
  /** Clients 2i and 2i+1 talk to each other. */
  index: number;
  userId: string;
  /** Never acknowledges a `receiveMessage` during the load (it does in the drain). */
  neverAcks: boolean;
  /** Whether its next connection acknowledges what it is sent. */
  acking: boolean;
  socket?: Socket;
  /** Connected and not about to leave: sends may go from it. */
  sending: boolean;
  /** Away or on its way out: not picked for another reconnect. */
  away: boolean;
  /** Its sends not answered yet. */
  inFlight: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Connects, retrying for up to `timeoutMs` (a refused handshake is answered with backoff). */
async function openSoakSocket(
  job: SoakJob,
  client: SoakClient,
  tally: Tally,
  listen: (socket: Socket) => void,
): Promise<void> {
  const deadline = Date.now() + job.timeoutMs;
  for (;;) {
    try {
      client.socket = await connect(job, client.userId, listen);
      client.sending = true;
      return;
    } catch (err) {
      tally.error(`connect ${client.userId}: ${err instanceof Error ? err.message : err}`);
      if (Date.now() > deadline) return; // stays away: its messages show up as lost
      await sleep(1000);
    }
  }
}

/**
 * The soak (bench/soak.ts). Sends go open loop at `rate`, each from the next connected client to
 * the other client of its pair, while `reconnectShare` of the clients per minute leave (once their
 * own sends are answered, as a client keeps a message until its ack), stay away a moment and come
 * back on a new connection; every `nonAckEvery`-th client never acknowledges `receiveMessage`.
 * After the last send is answered, the never-acking clients reconnect as acking ones (the drain).
 * A message is received when an acking socket of its receiver gets it; lost = confirmed
 * (`{ok: true}`) and never received by the end. Latency is send → first receipt, for the
 * messages of acking receivers, those sent while the receiver was away apart (`caughtUp*`); the
 * never-acking clients' messages wait, by design, until the drain.
 */
async function runSoak(job: SoakJob): Promise<Tally> {
  const tally = new Tally();
  const counts = Object.assign(tally.counts, {
    sent: 0,
    refused: 0,
    confirmedToNonAckers: 0,
    unackedReceipts: 0,
    reconnects: 0,
    droppedByServer: 0,
    notSentNoClient: 0,
    drainMs: 0,
  });
  const clients: SoakClient[] = Array.from({ length: job.pairs * 2 }, (_, i) => ({
    index: i,
    userId: `${job.prefix}${i}`,
    neverAcks: (i + 1) % job.nonAckEvery === 0,
    acking: (i + 1) % job.nonAckEvery !== 0,
    sending: false,
    away: false,
    inFlight: 0,
  }));
  const sentAt = new Map<string, number>();
  /** Sent while the receiver was away: their latency includes its time away. */
  const sentWhileAway = new Set<string>();
  const caughtUpLatencies: number[] = [];
  const confirmed = new Set<string>();
  const received = new Set<string>();

  /** Reconnects under way: the churn's, and those after a connection the server dropped. */
  const reconnects: Promise<void>[] = [];
  const listen = (client: SoakClient, acking: boolean) => (socket: Socket) => {
    // A connection the server (or the network) closed: a client would come back, so this one does.
    socket.on("disconnect", (reason) => {
      if (reason === "io client disconnect" || client.away) return;
      counts.droppedByServer++;
      tally.error(`${client.userId} disconnected: ${reason}`);
      reconnects.push(reconnect(client));
    });
    socket.on("receiveMessage", (message: Received, ack?: () => void) => {
      if (!acking) return void counts.unackedReceipts++;
      ack?.();
      const id = message.clientMessageId ?? "";
      // At least once: a message sent to a socket that left before its receipt was stored
      // comes again on the next connection.
      if (received.has(id)) return void tally.duplicates++;
      received.add(id);
      const t = now();
      const at = sentAt.get(id);
      sentAt.delete(id);
      if (at !== undefined && !client.neverAcks) {
        if (sentWhileAway.delete(id)) caughtUpLatencies.push(t - at);
        else tally.latencies.push(t - at);
      }
      tally.received++;
      tally.endedAt = t;
    });
  };
  const open = (client: SoakClient) =>
    openSoakSocket(job, client, tally, listen(client, client.acking));

  let seq = 0;
  const send = (client: SoakClient) => {
    const id = `${client.userId}.${seq++}`;
    const peer = clients[client.index ^ 1]!;
    counts.sent++;
    client.inFlight++;
    sentAt.set(id, now());
    if (peer.away) sentWhileAway.add(id);
    client.socket!.timeout(job.timeoutMs).emit(
      "sendMessage",
      { receiverId: peer.userId, text: messageText(id), clientMessageId: id },
      (err: Error | null, ack: Ack) => {
        client.inFlight--;
        if (err) tally.error("ack timeout");
        else if (!ack.ok) {
          counts.refused++;
          tally.error(`${ack.code}: ${ack.error}`);
        } else {
          tally.acked++;
          confirmed.add(id);
          if (peer.neverAcks) counts.confirmedToNonAckers++;
        }
      },
    );
  };

  async function reconnect(client: SoakClient): Promise<void> {
    client.away = true;
    client.sending = false;
    const deadline = Date.now() + job.timeoutMs;
    while (client.inFlight > 0 && Date.now() < deadline) await sleep(10);
    client.socket?.close();
    client.socket = undefined;
    const [shortest, longest] = job.offlineMs;
    await sleep(shortest + Math.random() * (longest - shortest));
    await open(client);
    counts.reconnects++;
    client.away = false;
  }

  for (let i = 0; i < clients.length; i += 50) {
    await Promise.all(clients.slice(i, i + 50).map(open));
  }
  if (clients.some((c) => !c.socket)) throw new Error(`not every client connected`);
  emit({ type: "ready" });
  await waitFor("go");
  const start = now();
  tally.startedAt = start;

  // Reconnects spread evenly over each minute, every client in turn (a shuffled order).
  const churnEveryMs = 60_000 / (job.reconnectShare * clients.length);
  const order = [...clients].sort(() => Math.random() - 0.5);
  let nextChurnAt = start + churnEveryMs;
  let churned = 0;
  let due = 0;
  let nextSender = 0;
  const nextSendingClient = (): SoakClient | undefined => {
    for (let tries = 0; tries < clients.length; tries++) {
      const client = clients[nextSender]!;
      nextSender = (nextSender + 1) % clients.length;
      if (client.sending) return client;
    }
    return undefined;
  };
  while (now() - start < job.durationMs) {
    const t = now();
    if (t >= nextChurnAt) {
      nextChurnAt += churnEveryMs;
      const client = order[churned++ % order.length]!;
      if (!client.away) reconnects.push(reconnect(client));
    }
    for (const target = Math.floor(((t - start) * job.rate) / 1000); due < target; due++) {
      const client = nextSendingClient();
      if (client) send(client);
      else counts.notSentNoClient++;
    }
    await sleep(2);
  }
  await Promise.all(reconnects);
  const unanswered = () => clients.reduce((n, c) => n + c.inFlight, 0);
  await settle(() => unanswered() === 0, () => unanswered(), job.timeoutMs);

  // The drain: the never-acking clients come back as acking ones and get what they left unacked.
  const drainStart = now();
  const neverAck = clients.filter((c) => c.neverAcks);
  for (const client of neverAck) {
    client.acking = true;
    client.away = true; // its close below is no drop
    client.socket?.close();
  }
  await Promise.all(neverAck.map(async (c) => {
    await open(c);
    c.away = false;
  }));
  const missing = () => {
    let n = 0;
    for (const id of confirmed) if (!received.has(id)) n++;
    return n;
  };
  await settle(
    () => tally.received >= tally.acked && missing() === 0,
    () => tally.received,
    job.drainQuietMs,
  );
  counts.drainMs = Math.round(now() - drainStart);
  const caughtUp = summarize(caughtUpLatencies);
  Object.assign(counts, {
    caughtUp: caughtUp.count,
    caughtUpP50Ms: caughtUp.p50,
    caughtUpP99Ms: caughtUp.p99,
  });
  tally.lost = missing();
  closeAll(clients.flatMap((c) => c.socket ? [c.socket] : []));
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
    case "soak":
      return await runSoak(job);
    case "createGroup":
      return await runCreateGroup(job);
    case "group":
      return await runGroup(job);
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
