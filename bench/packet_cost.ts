/**
 * What each packet of a send costs the server.
 *
 *   deno run -A bench/packet_cost.ts                # bare Socket.IO, one more packet per mode
 *   deno run -A bench/packet_cost.ts --parley DIR   # Parley from the tree DIR (DIR/main.ts)
 *   (--parley twice compares two trees; --modes a,b picks bare modes; --no-recovery; --runs N)
 *
 * The server runs in a child process. A fixed-rate phase gives its CPU time (all threads,
 * from /proc) per message, and how much of it the JavaScript thread took; a closed-loop
 * phase (each sender keeps `--window` sends in flight) gives messages/s. The bare server
 * has connection state recovery on, as Parley does, so a room broadcast is also kept for
 * replay. The load generators run in this process, on the same cores: messages/s is what
 * this machine does, not what the server alone could.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { parseArgs } from "node:util";
import { SignJWT } from "jose";
import { Server } from "socket.io";
import { io, type Socket } from "socket.io-client";

/** What the bare server sends per `sendMessage`, besides reading it. */
interface Mode {
  ack: boolean;
  /** `messageSent` to the sender's room: to every socket, or all but the sending one. */
  sent?: "all" | "except";
  /** `receiveMessage` to the receiver, with an ack callback the receiver answers. */
  receive?: boolean;
  /** `messageDelivered` to the sender's room once the receiver acknowledged. */
  delivered?: boolean;
}

const MODES: Record<string, Mode> = {
  "in": { ack: false },
  "in+ack": { ack: true },
  "+messageSent": { ack: true, sent: "all" },
  "+messageSent except sender": { ack: true, sent: "except" },
  "+receiveMessage+ack": { ack: true, sent: "all", receive: true },
  "all six (Parley before)": { ack: true, sent: "all", receive: true, delivered: true },
  "five (Parley after)": { ack: true, sent: "except", receive: true, delivered: true },
};

const SECRET = "packet-cost-bench-secret-at-least-32-characters";
const CLOCK_TICKS = 100;

function message(senderId: string, receiverId: string, n: number) {
  const now = new Date().toISOString();
  return {
    _id: `01JBENCH${String(n).padStart(18, "0")}`,
    senderId,
    receiverId,
    text: `message ${n} of the packet cost bench`,
    file: null,
    clientMessageId: crypto.randomUUID(),
    createdAt: now,
    updatedAt: now,
    deliveredAt: null,
    readAt: null,
  };
}

/** The child: a bare Socket.IO server answering as `mode` says. */
async function serve(mode: Mode, recovery: boolean): Promise<void> {
  const http = createServer();
  const server = new Server(http, {
    connectionStateRecovery: recovery
      ? { maxDisconnectionDuration: 120_000, skipMiddlewares: false }
      : undefined,
  });
  let n = 0;
  server.on("connection", (socket) => {
    const userId = String(socket.handshake.auth.userId);
    socket.join(`user:${userId}`);
    socket.on("sendMessage", (payload: { receiverId: string }, ack?: (r: object) => void) => {
      const stored = message(userId, payload.receiverId, n++);
      const senderRoom = server.to(`user:${userId}`);
      if (mode.receive) {
        for (const id of server.sockets.adapter.rooms.get(`user:${payload.receiverId}`) ?? []) {
          server.sockets.sockets.get(id)?.timeout(10_000).emit(
            "receiveMessage",
            stored,
            (err: unknown) => {
              if (err || !mode.delivered) return;
              senderRoom.emit("messageDelivered", {
                messageId: stored._id,
                receiverId: payload.receiverId,
                deliveredAt: new Date().toISOString(),
              });
            },
          );
        }
      }
      if (mode.sent === "all") senderRoom.emit("messageSent", stored);
      if (mode.sent === "except") senderRoom.except(socket.id).emit("messageSent", stored);
      if (mode.ack) ack?.({ ok: true, message: stored });
    });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  console.log(`listening ${(http.address() as AddressInfo).port}`);
}

interface Child {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

async function waitHealthy(url: string, child: Deno.ChildProcess): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const ok = await fetch(`${url}/healthz`).then((r) => (r.body?.cancel(), r.ok), () => false);
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`${url} did not come up`);
}

async function startChild(
  args: { modeName?: string; parleyDir?: string; recovery?: boolean },
): Promise<Child> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const dir = args.parleyDir;
  const command = dir
    ? new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--config", `${dir}/deno.json`, `${dir}/main.ts`],
      cwd: dir,
      env: {
        PORT: String(port),
        HOST: "127.0.0.1",
        JWT_SECRET: SECRET,
        RATE_LIMITS: "off",
        LOG_LEVEL: "error",
        // Either store name: the tree may be from before or after SQLite replaced Deno KV.
        KV_PATH: ":memory:",
        SQLITE_PATH: ":memory:",
      },
      stdout: "null",
      stderr: "inherit",
    })
    : new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL(import.meta.url).pathname,
        "--serve",
        args.modeName!,
        ...(args.recovery === false ? ["--no-recovery"] : []),
      ],
      stdout: "piped",
      stderr: "inherit",
    });
  const child = command.spawn();
  let url = `http://127.0.0.1:${port}`;
  if (dir) {
    await waitHealthy(url, child);
  } else {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    while (!text.includes("\n")) text += (await reader.read()).value ?? "";
    reader.releaseLock();
    url = `http://127.0.0.1:${text.match(/listening (\d+)/)![1]}`;
  }
  return {
    url,
    pid: child.pid,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** utime + stime of the whole process and of its main (JavaScript) thread, in seconds. */
async function cpu(pid: number): Promise<{ all: number; main: number }> {
  const seconds = (stat: string) => {
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  };
  return {
    all: seconds(await Deno.readTextFile(`/proc/${pid}/stat`)),
    main: seconds(await Deno.readTextFile(`/proc/${pid}/task/${pid}/stat`)),
  };
}

type Client = Socket;

async function connect(url: string, userId: string, parley: boolean): Promise<Client> {
  const auth = parley
    ? {
      token: await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject(userId)
        .setExpirationTime("1h").sign(new TextEncoder().encode(SECRET)),
    }
    : { userId };
  const client = io(url, { auth, transports: ["websocket"], reconnection: false, forceNew: true });
  await new Promise<void>((resolve, reject) => {
    client.once("connect", resolve);
    client.once("connect_error", reject);
  });
  return client;
}

interface Options {
  pairs: number;
  rate: number;
  seconds: number;
  window: number;
  warmup: number;
}

interface Result {
  cpuUsPerMessage: number;
  mainUsPerMessage: number;
  messagesPerSecond: number;
  /** `messageSent` packets that reached the sending sockets, per message sent. */
  echoesPerMessage: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function measure(child: Child, ack: boolean, parley: boolean, o: Options): Promise<Result> {
  const senders: Client[] = [];
  const receivers: Client[] = [];
  for (let i = 0; i < o.pairs; i++) {
    senders.push(await connect(child.url, `s${i}`, parley));
    const receiver = await connect(child.url, `r${i}`, parley);
    receiver.on("receiveMessage", (_m: unknown, done?: () => void) => done?.());
    receivers.push(receiver);
  }
  let echoes = 0;
  for (const s of senders) s.on("messageSent", () => echoes++);
  let sent = 0;
  const send = (i: number): Promise<unknown> | void => {
    sent++;
    const payload = { receiverId: `r${i}`, text: "bench", clientMessageId: crypto.randomUUID() };
    if (!ack) return void senders[i]!.emit("sendMessage", payload);
    return senders[i]!.timeout(10_000).emitWithAck("sendMessage", payload);
  };

  // Fixed rate: CPU per message.
  let running = true;
  const perTick = o.rate / 100;
  let owed = 0;
  let next = 0;
  const ticker = setInterval(() => {
    if (!running) return;
    for (owed += perTick; owed >= 1; owed--) send(next++ % o.pairs)?.catch(() => {});
  }, 10);
  await sleep(o.warmup * 1000);
  const [c0, n0, e0] = [await cpu(child.pid), sent, echoes];
  await sleep(o.seconds * 1000);
  const [c1, n1, e1] = [await cpu(child.pid), sent, echoes];
  running = false;
  clearInterval(ticker);
  await sleep(500);

  // Closed loop: messages/s.
  let acked = 0;
  let loop = true;
  const loops = ack
    ? senders.flatMap((_, i) =>
      Array.from({ length: o.window }, async () => {
        while (loop) {
          await send(i);
          acked++;
        }
      })
    )
    : [];
  await sleep(o.warmup * 1000);
  const a0 = acked;
  const t0 = performance.now();
  await sleep(o.seconds * 1000);
  const rate = ack ? (acked - a0) / ((performance.now() - t0) / 1000) : NaN;
  loop = false;
  await Promise.allSettled(loops);
  for (const c of [...senders, ...receivers]) c.close();
  await sleep(200);
  return {
    cpuUsPerMessage: ((c1.all - c0.all) / (n1 - n0)) * 1e6,
    mainUsPerMessage: ((c1.main - c0.main) / (n1 - n0)) * 1e6,
    messagesPerSecond: rate,
    echoesPerMessage: (e1 - e0) / (n1 - n0),
  };
}

function median(values: number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      serve: { type: "string" },
      /** Bare server without connection state recovery (Parley always has it on). */
      "no-recovery": { type: "boolean", default: false },
      parley: { type: "string", multiple: true },
      modes: { type: "string" },
      pairs: { type: "string", default: "50" },
      rate: { type: "string", default: "1000" },
      seconds: { type: "string", default: "6" },
      warmup: { type: "string", default: "2" },
      window: { type: "string", default: "4" },
      runs: { type: "string", default: "3" },
    },
  });
  const recovery = !values["no-recovery"];
  if (values.serve) return await serve(MODES[values.serve]!, recovery);
  const o: Options = {
    pairs: Number(values.pairs),
    rate: Number(values.rate),
    seconds: Number(values.seconds),
    warmup: Number(values.warmup),
    window: Number(values.window),
  };
  // Each variant is a bare mode or a Parley tree; runs interleave variants against drift.
  const variants = values.parley?.length
    ? values.parley.map((dir) => ({ name: dir, start: () => startChild({ parleyDir: dir }) }))
    : (values.modes?.split(",") ?? Object.keys(MODES)).map((name) => ({
      name,
      start: () => startChild({ modeName: name, recovery }),
    }));
  const results = new Map<string, Result[]>(variants.map((v) => [v.name, []]));
  for (let run = 0; run < Number(values.runs); run++) {
    for (const variant of variants) {
      const child = await variant.start();
      try {
        const parley = values.parley !== undefined;
        const ack = parley || MODES[variant.name]!.ack;
        const r = await measure(child, ack, parley, o);
        results.get(variant.name)!.push(r);
        console.error(`run ${run + 1} ${variant.name}: ${JSON.stringify(r)}`);
      } finally {
        await child.stop();
      }
    }
  }
  console.log(
    `\n${o.pairs} senders + ${o.pairs} receivers; CPU at ${o.rate} messages/s for ${o.seconds} s;` +
      ` closed loop with ${o.window} in flight per sender; medians of ${values.runs} runs\n`,
  );
  console.log(
    "| variant | server CPU µs/message | of it JS thread | messages/s | echoes/message |",
  );
  console.log("| --- | --- | --- | --- | --- |");
  for (const [name, rs] of results) {
    const m = (f: (r: Result) => number, digits = 0) => median(rs.map(f)).toFixed(digits);
    console.log(
      `| ${name} | ${m((r) => r.cpuUsPerMessage)} | ${m((r) => r.mainUsPerMessage)} | ` +
        `${m((r) => r.messagesPerSecond)} | ${m((r) => r.echoesPerMessage, 2)} |`,
    );
  }
  // Runs of neighbouring variants are minutes apart at most: their differences drift less.
  console.log("\n| variant − the one above it | CPU µs/message | JS thread µs | messages/s |");
  console.log("| --- | --- | --- | --- |");
  const lists = [...results.values()];
  [...results.keys()].slice(1).forEach((name, i) => {
    const [before, now] = [lists[i]!, lists[i + 1]!];
    const d = (f: (r: Result) => number) =>
      median(now.map((r, run) => f(r) - f(before[run]!))).toFixed(0);
    console.log(
      `| ${name} | ${d((r) => r.cpuUsPerMessage)} | ${d((r) => r.mainUsPerMessage)} | ` +
        `${d((r) => r.messagesPerSecond)} |`,
    );
  });
}

if (import.meta.main) await main();
