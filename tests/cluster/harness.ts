/**
 * A real Parley cluster for tests: Redis (Debian's redis-server) on a free port, nodes as
 * child processes (`deno run main.ts`) sharing the MongoDB-compatible test server (a fresh
 * database per cluster), and optionally nginx in front with deploy/nginx.conf.
 */
import { io as connectSocket } from "socket.io-client";
import { type ChildServer, spawnServer } from "../helpers/child_server.ts";
import { waitFor } from "../helpers/events.ts";
import { freePort } from "../helpers/ports.ts";
import { type ChatClient, delay, MONGODB_URI, signToken } from "../helpers/server.ts";

export { freePort };

function which(program: string): string | undefined {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":").concat(["/usr/sbin", "/usr/bin"])) {
    try {
      const path = `${dir}/${program}`;
      if (Deno.statSync(path).isFile) return path;
    } catch { /* not here */ }
  }
  return undefined;
}

export const REDIS_SERVER = which("redis-server");
export const NGINX = which("nginx");

/** Why the cluster tests cannot run here, or undefined. */
export const SKIP_REASON = !REDIS_SERVER
  ? "redis-server is not installed (apt-get install -y redis-server)"
  : !MONGODB_URI
  ? "MONGODB_URI is not set (scripts/mongo-test-server.sh start)"
  : undefined;

/** Call at module level: prints a visible SKIPPED line when the suite cannot run. */
export function reportSkip(suite: string): boolean {
  if (SKIP_REASON) console.warn(`SKIPPED: ${suite} (${SKIP_REASON})`);
  return SKIP_REASON !== undefined;
}

/** Reads a child's output until `ready` appears (or it exits / times out). */
async function waitForLine(
  child: Deno.ChildProcess,
  ready: string,
  what: string,
  timeoutMs = 10_000,
): Promise<() => string> {
  let text = "";
  const pump = (async () => {
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) text += chunk;
  })();
  pump.catch(() => {});
  const deadline = Date.now() + timeoutMs;
  while (!text.includes(ready)) {
    if (Date.now() > deadline) {
      child.kill("SIGKILL");
      throw new Error(`${what} did not start:\n${text}`);
    }
    await delay(20);
  }
  return () => text;
}

/** `await using` stops it (SIGTERM) unless it is already down. */
export class RedisServer implements AsyncDisposable {
  private child?: Deno.ChildProcess;
  readonly url: string;

  constructor(readonly port: number) {
    this.url = `redis://127.0.0.1:${port}`;
  }

  /** Starts redis-server without persistence: a restart loses every key, the hard case. */
  async start(): Promise<void> {
    this.child = new Deno.Command(REDIS_SERVER!, {
      args: [
        "--port",
        String(this.port),
        "--bind",
        "127.0.0.1",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        Deno.makeTempDirSync({ prefix: "parley-redis-" }),
      ],
      stdout: "piped",
      stderr: "null",
    }).spawn();
    await waitForLine(this.child, "Ready to accept connections", "redis-server");
  }

  /** kill -9. */
  async kill(): Promise<void> {
    if (!this.child) return;
    this.child.kill("SIGKILL");
    await this.child.status;
    this.child = undefined;
  }

  async stop(): Promise<void> {
    if (!this.child) return;
    this.child.kill("SIGTERM");
    await this.child.status;
    this.child = undefined;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** `await using` shuts the node down (SIGTERM, exit awaited) unless it is already gone. */
export interface ClusterNodeProcess extends AsyncDisposable {
  readonly url: string;
  readonly port: number;
  readonly child: ChildServer;
  alive: boolean;
  /** SIGTERM, as an orchestrator stops a node; resolves with its exit status. */
  stop(): Promise<Deno.CommandStatus>;
}

export interface ClientOptions {
  /** Reconnect automatically (as real clients do); off by default. */
  reconnect?: boolean;
  transports?: ("websocket" | "polling")[];
  /** Attach listeners here: events can arrive with the connection. */
  setup?: (client: ChatClient) => void;
}

let databases = 0;

/**
 * `await using cluster = await TestCluster.start()` closes it when the scope ends: its
 * clients first, then its nodes, then Redis.
 */
export class TestCluster implements AsyncDisposable {
  readonly clients: ChatClient[] = [];

  private constructor(
    readonly redis: RedisServer,
    readonly nodes: ClusterNodeProcess[],
    private readonly env: Record<string, string>,
  ) {}

  /** Redis plus `count` nodes on one fresh MongoDB database. */
  static async start(
    count = 3,
    env: Record<string, string> = {},
  ): Promise<TestCluster> {
    const redis = new RedisServer(freePort());
    await redis.start();
    const nodeEnv = {
      REDIS_URL: redis.url,
      MONGODB_URI: MONGODB_URI!,
      MONGODB_DB: `parley_cluster_${Date.now()}_${databases++}`,
      CLUSTER_NODE_TTL_MS: "1500",
      PRESENCE_GRACE_MS: "100",
      ...env,
    };
    const cluster = new TestCluster(redis, [], nodeEnv);
    // Every spawn settles before the cluster is kept or closed, so none started is left running.
    const started = await Promise.allSettled(
      Array.from({ length: count }, () => spawnServer(nodeEnv)),
    );
    for (const result of started) {
      if (result.status === "fulfilled") cluster.nodes.push(cluster.describe(result.value));
    }
    const failed = started.find((result) => result.status === "rejected");
    if (failed) {
      await cluster.close();
      throw failed.reason;
    }
    return cluster;
  }

  private describe(child: ChildServer): ClusterNodeProcess {
    const node: ClusterNodeProcess = {
      url: child.url,
      port: Number(new URL(child.url).port),
      child,
      alive: true,
      async stop() {
        child.process.kill("SIGTERM");
        const status = await child.process.status;
        node.alive = false;
        return status;
      },
      async [Symbol.asyncDispose]() {
        if (node.alive) await node.stop();
      },
    };
    return node;
  }

  /** Starts one more node on the same Redis and database. */
  async addNode(): Promise<ClusterNodeProcess> {
    const node = this.describe(await spawnServer(this.env));
    this.nodes.push(node);
    return node;
  }

  /** A websocket client of `userId` connected to `url` (a node's or the proxy's). */
  async connect(url: string, userId: string, options: ClientOptions = {}): Promise<ChatClient> {
    const client: ChatClient = connectSocket(url, {
      auth: { token: await signToken(userId) },
      transports: options.transports ?? ["websocket"],
      reconnection: options.reconnect ?? false,
      reconnectionDelay: 100,
      reconnectionDelayMax: 300,
      forceNew: true,
    });
    options.setup?.(client);
    this.clients.push(client);
    await new Promise<void>((resolve, reject) => {
      client.once("connect", () => resolve());
      client.once("connect_error", (err) => {
        client.close();
        reject(err);
      });
    });
    return client;
  }

  /** An authenticated REST call to one node. */
  async api(url: string, userId: string, path: string, init: RequestInit = {}) {
    const headers = new Headers(init.headers);
    headers.set("authorization", `Bearer ${await signToken(userId)}`);
    return fetch(`${url}${path}`, { signal: AbortSignal.timeout(10_000), ...init, headers });
  }

  /** kill -9 one node. */
  async kill(node: ClusterNodeProcess): Promise<void> {
    node.child.process.kill("SIGKILL");
    await node.child.process.status;
    node.alive = false;
  }

  /** Waits until every live node answers /readyz with `status`. */
  async waitReady(status: number, timeoutMs = 10_000): Promise<void> {
    await waitFor(
      async () => {
        const answers = await Promise.all(
          this.nodes.filter((n) => n.alive).map(async (n) => {
            const res = await fetch(`${n.url}/readyz`, { signal: AbortSignal.timeout(3000) })
              .catch(() => undefined);
            await res?.body?.cancel();
            return res?.status;
          }),
        );
        return answers.every((s) => s === status);
      },
      `every node's /readyz to answer ${status}`,
      timeoutMs,
    );
  }

  /** Everything the nodes wrote so far (for a failing test's message). */
  output(): string {
    return this.nodes.map((n, i) => `--- node ${i} (${n.url})\n${n.child.output()}`).join("\n");
  }

  /** Closes clients, then nodes, then Redis; `CLUSTER_TEST_LOGS=1` prints the nodes' output first. */
  async close(): Promise<void> {
    if (Deno.env.get("CLUSTER_TEST_LOGS")) console.error(this.output());
    for (const client of this.clients) client.close();
    await delay(50);
    await Promise.all(this.nodes.map((node) => node[Symbol.asyncDispose]()));
    await this.redis.stop();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

const NGINX_CONF = new URL("../../deploy/nginx.conf", import.meta.url);

/**
 * nginx with deploy/nginx.conf, its upstream pointed at `nodes`, on a free port;
 * `await using` stops it and removes its directory.
 */
export class TestProxy implements AsyncDisposable {
  private constructor(
    private readonly child: Deno.ChildProcess,
    readonly url: string,
    private readonly dir: string,
  ) {}

  static async start(nodes: readonly ClusterNodeProcess[]): Promise<TestProxy> {
    const port = freePort();
    const dir = await Deno.makeTempDir({ prefix: "parley-nginx-" });
    await Deno.chmod(dir, 0o777);
    let site = await Deno.readTextFile(NGINX_CONF);
    const servers = nodes.map((n) => `  server 127.0.0.1:${n.port} max_fails=1 fail_timeout=10s;`);
    const upstreamServers = /^ {2}server app\d+:3000[^\n]*\n/gm;
    if (!upstreamServers.test(site) || !site.includes("  listen 80;")) {
      throw new Error("deploy/nginx.conf no longer has the lines this test replaces");
    }
    site = site.replace(upstreamServers, "")
      .replace("  ip_hash;\n", `  ip_hash;\n${servers.join("\n")}\n`)
      .replace("  listen 80;", `  listen 127.0.0.1:${port};`)
      // Tells the test which node served a request.
      .replace(
        "  location / {\n",
        "  location / {\n    add_header X-Parley-Node $upstream_addr always;\n",
      );
    await Deno.writeTextFile(`${dir}/site.conf`, site);
    const main = [
      Deno.uid() === 0 ? "user root;" : "",
      "worker_processes 1;",
      "daemon off;",
      "master_process on;",
      `pid ${dir}/nginx.pid;`,
      `error_log ${dir}/error.log warn;`,
      "events { worker_connections 256; }",
      "http {",
      "  access_log off;",
      `  client_body_temp_path ${dir}/body;`,
      `  proxy_temp_path ${dir}/proxy;`,
      `  fastcgi_temp_path ${dir}/fastcgi;`,
      `  uwsgi_temp_path ${dir}/uwsgi;`,
      `  scgi_temp_path ${dir}/scgi;`,
      `  include ${dir}/site.conf;`,
      "}",
    ].join("\n");
    await Deno.writeTextFile(`${dir}/nginx.conf`, main);
    const child = new Deno.Command(NGINX!, {
      args: ["-p", dir, "-c", `${dir}/nginx.conf`],
      stdout: "null",
      stderr: "piped",
    }).spawn();
    const proxy = new TestProxy(child, `http://127.0.0.1:${port}`, dir);
    try {
      await waitFor(
        async () => {
          const res = await fetch(`${proxy.url}/healthz`, { signal: AbortSignal.timeout(3000) })
            .catch(() => undefined);
          await res?.body?.cancel();
          return res?.status === 200;
        },
        "nginx to proxy /healthz",
        10_000,
      );
    } catch (err) {
      child.kill("SIGKILL");
      const log = await Deno.readTextFile(`${dir}/error.log`).catch(() => "");
      throw new Error(`${err}\n${log}`);
    }
    return proxy;
  }

  /** The node (port) nginx sends this machine's requests to. */
  async target(): Promise<number> {
    const res = await fetch(`${this.url}/healthz`, { signal: AbortSignal.timeout(10_000) });
    await res.body?.cancel();
    const addr = res.headers.get("x-parley-node") ?? "";
    return Number(addr.split(",").at(-1)!.trim().split(":").at(-1));
  }

  async stop(): Promise<void> {
    this.child.kill("SIGTERM");
    await this.child.stderr.cancel().catch(() => {});
    await this.child.status;
    await Deno.remove(this.dir, { recursive: true }).catch(() => {});
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}
