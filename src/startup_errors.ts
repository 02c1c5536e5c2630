/**
 * Start-up failures as one line each: what could not be reached or used, why, and which
 * variable to change. A person starting Parley for the first time reads this line, so it
 * never carries a stack trace (the frames say nothing they can act on).
 *
 * Errors are recognised by shape (`name`, `code`), not by class, so that the MongoDB driver
 * is not loaded by a process that does not use it.
 */
import { redisHost } from "./cluster/redis_link.ts";
import type { Config } from "./config.ts";

/** A failure whose message already is the line to print (see data_directories.ts). */
export class StartupError extends Error {
  override name = "StartupError";
}

interface ErrorShape {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  syscall?: unknown;
  cause?: unknown;
  reason?: { servers?: Map<string, { error?: unknown }> };
}

function shape(err: unknown): ErrorShape {
  return typeof err === "object" && err !== null ? err as ErrorShape : {};
}

/** The first line of an error's message, without a trailing period. */
function messageOf(err: unknown): string {
  const text = typeof shape(err).message === "string" ? shape(err).message as string : String(err);
  return (text.split("\n")[0] ?? "").trim().replace(/\.$/, "");
}

/** The network reason behind a driver's error: refused, DNS, timeout, or its own words. */
export function networkCause(err: unknown): string {
  for (let e: unknown = err, depth = 0; e !== undefined && depth < 5; depth++) {
    const { code } = shape(e);
    const message = messageOf(e);
    if (code === "ECONNREFUSED" || /ECONNREFUSED/.test(message)) return "connection refused";
    if (
      code === "ENOTFOUND" || code === "EAI_AGAIN" || /ENOTFOUND|EAI_AGAIN|querySrv/.test(message)
    ) return "host name not found (DNS)";
    if (code === "ETIMEDOUT" || /timed out|ETIMEDOUT/i.test(message)) return "timed out";
    if (code === "EHOSTUNREACH" || code === "ENETUNREACH") return "no route to host";
    if (code === "ECONNRESET" || /ECONNRESET/.test(message)) return "connection reset";
    if (/WRONGPASS|NOAUTH|invalid password|auth/i.test(message)) return "authentication failed";
    e = shape(e).cause;
  }
  return messageOf(err);
}

/** `mongodb://user:secret@a:27017,b/db?x` → `a:27017,b:27017` (never the credentials). */
export function mongoHosts(uri: string): string {
  const match = uri.match(/^mongodb(\+srv)?:\/\/(?:[^@/]*@)?([^/?]*)/);
  if (!match) return "(unparsable MONGODB_URI)";
  const [, srv, hosts = ""] = match;
  if (srv) return `${hosts} (SRV)`;
  return hosts.split(",").map((host) => /:\d+$/.test(host) ? host : `${host}:27017`).join(",");
}

function describeMongo(err: unknown, uri: string): string | undefined {
  // The repository turns an unreachable server into STORE_UNAVAILABLE and keeps the
  // driver's error as its cause (store_errors.ts).
  const driverError = shape(err).name === "AppError" ? shape(err).cause ?? err : err;
  const { name, code } = shape(driverError);
  if (typeof name !== "string" || !/^Mongo|^Error$/.test(name)) return undefined;
  const where = `MongoDB at ${mongoHosts(uri)}`;
  if (code === 18 || /Authentication failed/i.test(messageOf(driverError))) {
    return `${where} refused the credentials: authentication failed (check the user and ` +
      `password in MONGODB_URI)`;
  }
  if (code === 13) {
    return `${where} refused access: the user in MONGODB_URI may not use this database ` +
      `(${messageOf(driverError)}; set MONGODB_DB or grant readWrite)`;
  }
  if (name === "MongoParseError" || name === "MongoAPIError") {
    return `MONGODB_URI cannot be used: ${messageOf(driverError)}`;
  }
  if (name === "MongoServerSelectionError" || name === "MongoNetworkError" || name === "Error") {
    // Each server the driver tried has its own error; a server that never answered has none.
    const servers = [...(shape(driverError).reason?.servers?.values() ?? [])];
    const serverError = servers.find((server) => server.error !== undefined)?.error;
    const cause = serverError === undefined && name === "MongoServerSelectionError"
      ? "timed out (no answer within the server selection timeout)"
      : networkCause(serverError ?? driverError);
    return `${where} is unreachable: ${cause} (set MONGODB_URI)`;
  }
  return `${where} failed at start-up: ${messageOf(driverError)}`;
}

function describeListen(err: unknown, config: Config): string | undefined {
  const { code, syscall } = shape(err);
  if (syscall !== "listen" && !/^listen /.test(messageOf(err))) return undefined;
  if (code === "EADDRINUSE") return `port ${config.port} is in use: set PORT`;
  if (code === "EACCES") {
    return `port ${config.port} needs privileges this process does not have: set PORT (above 1023)`;
  }
  if (code === "EADDRNOTAVAIL") {
    return `HOST ${config.host} is not an address of this machine: set HOST`;
  }
  return `cannot listen on ${config.host}:${config.port}: ${messageOf(err)} (set HOST or PORT)`;
}

/**
 * The one line that says why start-up failed.
 *
 * @example
 * describeStartupFailure(listenError, config) // "port 3000 is in use: set PORT"
 */
export function describeStartupFailure(err: unknown, config: Config): string {
  const line = (() => {
    if (err instanceof StartupError) return err.message;
    const listen = describeListen(err, config);
    if (listen) return listen;
    if (shape(err).name === "RedisConnectError") {
      return `Redis at ${redisHost(config.cluster?.redisUrl ?? "")} is unreachable: ${
        networkCause(shape(err).cause ?? err)
      } ` +
        `(set REDIS_URL)`;
    }
    if (config.store.kind === "mongo") {
      const mongo = describeMongo(err, config.store.uri);
      if (mongo) return mongo;
    }
    if (config.store.kind === "sqlite" && /^SQLite /.test(messageOf(err))) {
      return `the SQLite database at ${config.store.path} cannot be opened: ` +
        `${messageOf(err).replace(/^SQLite \(\w+\): /, "")} (set SQLITE_PATH)`;
    }
    const name = typeof shape(err).name === "string" ? `${shape(err).name}: ` : "";
    return `start-up failed: ${name}${messageOf(err)}`;
  })();
  return line.replace(/\s+/g, " ");
}
