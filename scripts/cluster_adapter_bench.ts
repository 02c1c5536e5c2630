/**
 * Measures cross-node room broadcasts through Redis for the Socket.IO adapters Parley could
 * use: the classic pub/sub adapter and the Streams adapter, each with node-redis and ioredis.
 * Two Socket.IO servers (nodes A and B) run in this process; 50 websocket clients on A each
 * join a room; B emits to the rooms at a fixed rate, and each delivery's latency is measured.
 *
 *   redis-server --port 6390 --save "" &
 *   deno run --allow-all scripts/cluster_adapter_bench.ts redis://127.0.0.1:6390 [rate] [seconds]
 *
 * Numbers from this machine are in README.md, "Why the Redis Streams adapter".
 */
import { createServer, type Server as HttpServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Server } from "socket.io";
import { io as connect, type Socket } from "socket.io-client";
import { createAdapter as createStreamsAdapter } from "@socket.io/redis-streams-adapter";
// Only this benchmark uses these two, so they stay out of deno.json's import map.
// deno-lint-ignore no-import-prefix
import { createAdapter as createClassicAdapter } from "npm:@socket.io/redis-adapter@8.3.0";
import { createClient } from "redis";
// deno-lint-ignore no-import-prefix
import { Redis } from "npm:ioredis@5.9.3";

const [url = "redis://127.0.0.1:6379", rateText = "2000", secondsText = "5"] = Deno.args;
const RATE = Number(rateText);
const SECONDS = Number(secondsText);
const CLIENTS = 50;

type Adapter = "classic" | "streams";
type Library = "redis" | "ioredis";

interface Node {
  io: Server;
  http: HttpServer;
  close(): Promise<void>;
}

async function startNode(adapter: Adapter, library: Library, recovery: boolean): Promise<Node> {
  const http = createServer();
  const io = new Server(http, {
    connectionStateRecovery: recovery ? { maxDisconnectionDuration: 120_000 } : undefined,
  });
  const clients: { close(): unknown }[] = [];
  const client = async () => {
    if (library === "redis") {
      const c = createClient({ url });
      c.on("error", () => {});
      await c.connect();
      clients.push({ close: () => c.destroy() });
      return c;
    }
    const c = new Redis(url);
    c.on("error", () => {});
    clients.push({ close: () => c.disconnect() });
    return c;
  };
  if (adapter === "streams") {
    io.adapter(createStreamsAdapter(await client(), { blockTimeInMs: 2000 }));
  } else {
    const pub = await client();
    const sub = library === "redis"
      ? await (async () => {
        const c = (pub as ReturnType<typeof createClient>).duplicate();
        c.on("error", () => {});
        await c.connect();
        clients.push({ close: () => c.destroy() });
        return c;
      })()
      : await client();
    io.adapter(createClassicAdapter(pub, sub));
  }
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  return {
    io,
    http,
    async close() {
      await io.close();
      for (const c of clients) c.close();
    },
  };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

async function run(adapter: Adapter, library: Library) {
  const recovery = adapter === "streams";
  const a = await startNode(adapter, library, recovery);
  const b = await startNode(adapter, library, recovery);
  const port = (a.http.address() as AddressInfo).port;
  a.io.on("connection", (socket) => socket.join(`user:${socket.handshake.auth.user}`));
  const latencies: number[] = [];
  const sockets: Socket[] = [];
  for (let i = 0; i < CLIENTS; i++) {
    const socket = connect(`http://127.0.0.1:${port}`, {
      transports: ["websocket"],
      forceNew: true,
      auth: { user: i },
    });
    socket.on("tick", (sentAt: number) => latencies.push(performance.now() - sentAt));
    await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
    sockets.push(socket);
  }
  await new Promise((resolve) => setTimeout(resolve, 500));
  const total = RATE * SECONDS;
  const started = performance.now();
  for (let sent = 0; sent < total;) {
    const due = Math.min(total, Math.floor(((performance.now() - started) / 1000) * RATE));
    for (; sent < due; sent++) b.io.to(`user:${sent % CLIENTS}`).emit("tick", performance.now());
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  const deadline = performance.now() + 10_000;
  while (latencies.length < total && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const elapsed = (performance.now() - started) / 1000;
  const sorted = [...latencies].sort((x, y) => x - y);
  console.log(
    `${adapter.padEnd(8)} ${library.padEnd(8)} delivered ${latencies.length}/${total} ` +
      `in ${elapsed.toFixed(1)} s; p50 ${percentile(sorted, 0.5).toFixed(1)} ms, ` +
      `p99 ${percentile(sorted, 0.99).toFixed(1)} ms, max ${sorted.at(-1)?.toFixed(1)} ms`,
  );
  for (const socket of sockets) socket.close();
  await a.close();
  await b.close();
}

for (const adapter of ["streams", "classic"] as const) {
  for (const library of ["redis", "ioredis"] as const) await run(adapter, library);
}
Deno.exit(0);
