/**
 * The Redis connections of one cluster node, and whether Redis can be reached.
 *
 * Two kinds of connection, because they must behave differently while Redis is down:
 * - `adapterClient` (and the connections the Socket.IO adapter duplicates from it) queue
 *   commands while disconnected and send them once Redis is back, each for at most
 *   `ADAPTER_COMMAND_TIMEOUT_MS`. The adapter's stream reader retries a failed read at
 *   once, so without the queue it would spin; with it, events published during a short
 *   outage still reach the other nodes, and the queue cannot grow for longer than that.
 * - `commands` fails at once while disconnected (presence, rate limits, readiness):
 *   those callers have a local fallback and must not wait.
 *
 * All of them reconnect forever (at most 2 s apart). `onRestored` listeners run when every
 * connection is ready again after any of them was lost.
 */
import { createClient } from "redis";
import { errorFields, type Logger } from "../log.ts";

export type RedisClient = ReturnType<typeof createClient>;

/** Longer than the adapter's blocking stream read (`ADAPTER_BLOCK_MS`), or every read times out. */
const ADAPTER_COMMAND_TIMEOUT_MS = 5000;
/** How long the adapter's stream read blocks waiting for entries. */
export const ADAPTER_BLOCK_MS = 2000;
/** Presence, rate limits and readiness give up on Redis after this long. */
const COMMAND_TIMEOUT_MS = 1000;
/** How long start-up waits for Redis before it gives up. */
const CONNECT_TIMEOUT_MS = 10_000;
/** How long shutdown waits for queued commands (a closing client waits for Redis forever). */
const CLOSE_TIMEOUT_MS = 1000;

export interface RedisLink {
  /** Publishing connection for the Socket.IO adapter (wrapped: see `forAdapter`). */
  readonly adapterClient: RedisClient;
  /** Fails fast while Redis is unreachable. */
  readonly commands: RedisClient;
  /** True while every connection is up. */
  readonly healthy: boolean;
  /** Resolves when Redis answers a PING within the command timeout. */
  ping(): Promise<void>;
  /** Runs after an outage, once every connection is ready again. */
  onRestored(listener: () => void): void;
  close(): Promise<void>;
}

/**
 * Settles with `work`, or rejects after `ms`. node-redis times a command out only while
 * it waits to be written; one already written waits for its reply as long as the
 * connection looks open, and callers on a request path must not.
 */
export function withTimeout<T>(work: Promise<T>, ms = COMMAND_TIMEOUT_MS): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`redis did not answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/** Reconnect quickly at first, then every 2 s, forever (never give up: the node stays up). */
function reconnectStrategy(retries: number): number {
  return Math.min(100 * 2 ** retries, 2000) + Math.floor(Math.random() * 100);
}

/** `redis://user:secret@host:6379/0` → `host:6379`, for logs. */
export function redisHost(url: string): string {
  try {
    const { hostname, port } = new URL(url);
    return `${hostname}:${port || 6379}`;
  } catch {
    return "(unparsable)";
  }
}

export async function connectRedis(url: string, log: Logger): Promise<RedisLink> {
  const host = redisHost(url);
  const connections = new Set<RedisClient>();
  const down = new Set<RedisClient>();
  const restoredListeners: (() => void)[] = [];
  let lostAt: number | undefined;
  let closing = false;
  // Until start-up has connected, an error is the reason start-up fails, said once by it.
  let started = false;
  let startError: unknown;

  /** Follows one connection's state; logs the outage once, not per retry. */
  const watch = (client: RedisClient, name: string) => {
    connections.add(client);
    client.on("error", (err: unknown) => {
      if (closing) return;
      if (!started) {
        startError = err;
        return;
      }
      if (lostAt === undefined) {
        lostAt = Date.now();
        log.error("redis unreachable", { redis: host, connection: name, ...errorFields(err) });
      }
      down.add(client);
    });
    client.on("ready", () => {
      down.delete(client);
      if (closing || lostAt === undefined || down.size > 0) return;
      log.info("redis connection restored", { redis: host, downMs: Date.now() - lostAt });
      lostAt = undefined;
      for (const listener of restoredListeners) listener();
    });
  };

  const adapterClient = createClient({
    url,
    socket: { reconnectStrategy, connectTimeout: 2000 },
    commandOptions: { timeout: ADAPTER_COMMAND_TIMEOUT_MS },
  });
  const commands = createClient({
    url,
    disableOfflineQueue: true,
    socket: { reconnectStrategy, connectTimeout: 2000 },
    commandOptions: { timeout: COMMAND_TIMEOUT_MS },
  });
  watch(adapterClient, "adapter");
  watch(commands, "commands");

  const connected = Promise.all([adapterClient.connect(), commands.connect()]);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${CONNECT_TIMEOUT_MS} ms`, { cause: startError })),
      CONNECT_TIMEOUT_MS,
    );
  });
  try {
    // A PING too: a Redis that wants a password accepts the connection and refuses commands.
    await Promise.race([connected.then(() => commands.ping()), timeout]);
    started = true;
  } catch (err) {
    closing = true;
    adapterClient.destroy();
    commands.destroy();
    // One error type for start-up to name Redis in its line (startup_errors.ts).
    const failure = new Error(`Redis at ${host} cannot be used`, { cause: err });
    failure.name = "RedisConnectError";
    throw failure;
  } finally {
    clearTimeout(timer);
  }

  // The adapter sends PUBLISH (server-side emits) and SET (sessions kept for recovery) without
  // handling a failure; under Deno an unhandled rejection ends the process. Such a failure
  // (Redis lost mid-command) is already logged as an outage, so it resolves to nothing here.
  for (const name of ["publish", "sPublish", "set"] as const) {
    const original = (adapterClient[name] as (...args: unknown[]) => Promise<unknown>).bind(
      adapterClient,
    );
    (adapterClient as unknown as Record<string, unknown>)[name] = (...args: unknown[]) =>
      original(...args).catch(() => undefined);
  }

  // The adapter duplicates its publishing connection for reading the stream and for pub/sub:
  // those are watched too, so "restored" means the node hears the others again.
  const duplicate = adapterClient.duplicate.bind(adapterClient);
  adapterClient.duplicate = ((...args: Parameters<typeof duplicate>) => {
    const copy = duplicate(...args);
    watch(copy as RedisClient, "adapter-reader");
    return copy;
  }) as typeof adapterClient.duplicate;

  return {
    adapterClient,
    commands,
    get healthy() {
      return down.size === 0 && commands.isReady;
    },
    async ping() {
      await withTimeout(commands.ping());
    },
    onRestored(listener) {
      restoredListeners.push(listener);
    },
    async close() {
      closing = true;
      // The adapter's reading connections are closed by io.close(); these two are ours.
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled([adapterClient.close(), commands.close()]),
        new Promise((resolve) => timer = setTimeout(resolve, CLOSE_TIMEOUT_MS)),
      ]);
      clearTimeout(timer);
      for (const client of connections) {
        try {
          if (client.isOpen) client.destroy();
        } catch { /* already closed */ }
      }
    },
  };
}
