/**
 * Starts a real Parley (real port, real store) for a test, and hands out real
 * Socket.IO clients authenticated with real tokens.
 */
import { SignJWT } from "jose";
import { io as connectSocket, type Socket } from "socket.io-client";
import { loadConfig } from "../../src/config.ts";
import { createLogger } from "../../src/log.ts";
import type { ClientToServerEvents, ServerToClientEvents } from "../../src/protocol/types.ts";
import { type RunningParley, startParley } from "../../src/server.ts";

export type ChatClient = Socket<ServerToClientEvents, ClientToServerEvents>;

export const TEST_SECRET = "test-secret-that-is-at-least-32-characters-long";

/** `await using server = await startTestServer()` closes it when the scope ends. */
export interface TestServer extends AsyncDisposable {
  parley: RunningParley;
  url: string;
  token(userId: string, claims?: Record<string, unknown>): Promise<string>;
  /** Connects a websocket client as `userId` and waits until it is connected. */
  connect(userId: string): Promise<ChatClient>;
  /** Authenticated REST call; `init.body` objects are sent as JSON. */
  api(userId: string, path: string, init?: RequestInit): Promise<Response>;
  close(): Promise<void>;
}

export function signToken(
  userId: string,
  claims: Record<string, unknown> = {},
  secret = TEST_SECRET,
  expiresIn: string | number = "1h",
): Promise<string> {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setSubject(userId)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(secret));
}

/** The status of a REST call with `token` as its Bearer token: 200, or 401 when refused. */
export async function restStatus(url: string, token: string): Promise<number> {
  const res = await fetch(`${url}/api/chats/my-chats`, {
    headers: { authorization: `Bearer ${token}` },
  });
  await res.body?.cancel();
  return res.status;
}

/** The MongoDB URI of the test server, when one runs (see scripts/mongo-test-server.sh). */
export const MONGODB_URI = Deno.env.get("MONGODB_URI");

/** `TEST_STORE=mongo` runs the integration suite on MongoDB instead of SQLite. */
export const TEST_STORE = Deno.env.get("TEST_STORE") === "mongo" ? "mongo" : "sqlite";
if (TEST_STORE === "mongo" && !MONGODB_URI) {
  throw new Error("TEST_STORE=mongo needs MONGODB_URI (scripts/mongo-test-server.sh start)");
}

let databases = 0;

/** A fresh, empty store per server: a new in-memory SQLite, or a new MongoDB database. */
function freshStoreEnv(): Record<string, string> {
  if (TEST_STORE === "sqlite") return { SQLITE_PATH: ":memory:" };
  return { MONGODB_URI: MONGODB_URI!, MONGODB_DB: `parley_it_${Date.now()}_${databases++}` };
}

export async function startTestServer(env: Record<string, string> = {}): Promise<TestServer> {
  const config = loadConfig({
    PORT: "0",
    JWT_SECRET: TEST_SECRET,
    LOG_LEVEL: "silent",
    PRESENCE_GRACE_MS: "50",
    // Tests send faster than any person; tests/security_limits_test.ts turns limits on.
    RATE_LIMITS: "off",
    ...freshStoreEnv(),
    ...env,
  });
  const parley = await startParley(config, createLogger(config.logLevel));
  const clients: ChatClient[] = [];

  const server: TestServer = {
    parley,
    url: parley.url,
    token: (userId, claims) => signToken(userId, claims),
    async connect(userId) {
      const client = await connectClient(parley.url, { token: await signToken(userId) });
      clients.push(client);
      return client;
    },
    async api(userId, path, init = {}) {
      const headers = new Headers(init.headers);
      headers.set("authorization", `Bearer ${await signToken(userId)}`);
      return fetch(`${parley.url}${path}`, { ...init, headers });
    },
    async close() {
      await disconnectAll(clients);
      await parley.close();
    },
    [Symbol.asyncDispose]: () => server.close(),
  };
  return server;
}

/** Connects over websocket only; rejects with the `connect_error` if refused. */
export function connectClient(
  url: string,
  auth: Record<string, unknown>,
  options: {
    extraHeaders?: Record<string, string>;
    /** Attach listeners here: events can arrive right with the connection. */
    setup?: (client: ChatClient) => void;
  } = {},
): Promise<ChatClient> {
  const client: ChatClient = connectSocket(url, {
    auth,
    transports: ["websocket"],
    reconnection: false,
    forceNew: true,
    extraHeaders: options.extraHeaders,
  });
  options.setup?.(client);
  return new Promise((resolve, reject) => {
    client.once("connect", () => resolve(client));
    client.once("connect_error", (err) => {
      client.close();
      reject(err);
    });
  });
}

/**
 * A list for clients made outside `server.connect()`. Declared with `await using`
 * after the server, it closes them (and waits until the server saw them go)
 * before the server closes.
 */
export function clientList(): ChatClient[] & AsyncDisposable {
  const clients: ChatClient[] = [];
  return Object.assign(clients, { [Symbol.asyncDispose]: () => disconnectAll(clients) });
}

/** Closes clients and waits until each is really gone. */
export async function disconnectAll(clients: ChatClient[]): Promise<void> {
  await Promise.all(clients.map((client) =>
    new Promise<void>((resolve) => {
      if (!client.connected) {
        client.close();
        return resolve();
      }
      client.once("disconnect", () => resolve());
      client.close();
    })
  ));
  // Let the server process the disconnects before its sockets are torn down.
  await delay(20);
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
