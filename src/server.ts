/**
 * Composition root of one Parley process: config → store → services → HTTP app
 * and Socket.IO on one `node:http` server.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { getRequestListener } from "@hono/node-server";
import type { Hono } from "hono";
import {
  createTokenIssuer,
  createTokenVerifier,
  randomSecret,
  type TokenVerifier,
} from "./auth/tokens.ts";
import { ChatService } from "./chat/chat_service.ts";
import { combineHooks } from "./chat/message_hooks.ts";
import { DeliveryService } from "./chat/delivery_service.ts";
import { PresenceService } from "./chat/presence.ts";
import { joinCluster } from "./cluster/cluster.ts";
import type { Config } from "./config.ts";
import { createHttpApp } from "./http/app.ts";
import type { Logger } from "./log.ts";
import { acceptConnections } from "./realtime/connections.ts";
import { guardWriteBuffers } from "./realtime/write_buffer_guard.ts";
import { countRefusals } from "./limits/counted.ts";
import { MemoryRateLimiter, unlimited } from "./limits/rate_limiter.ts";
import { createMetrics } from "./metrics/metrics.ts";
import { withStoreMetrics } from "./metrics/store_metrics.ts";
import { InFlight } from "./realtime/in_flight.ts";
import { createIo, type ParleyServer, userRoom } from "./realtime/io.ts";
import { MessageDelivery } from "./realtime/message_delivery.ts";
import { roomNotifier } from "./realtime/room_notifier.ts";
import { withEncryption } from "./store/encrypted_store.ts";
import { openBackend } from "./store/open_backend.ts";
import { createPushService } from "./push/push_service.ts";
import { UploadService } from "./uploads/upload_service.ts";
import type { ChatStore } from "./store/repository.ts";

/** How long open HTTP requests may take to finish on shutdown. */
const HTTP_DRAIN_MS = 1000;
/** How long socket events being handled may take to finish on shutdown. */
const SHUTDOWN_DRAIN_MS = 3000;
/** Undelivered messages read per catch-up page. */
const CATCH_UP_PAGE_SIZE = 200;

export interface RunningParley {
  /** Base URL, e.g. `http://127.0.0.1:3000`. */
  readonly url: string;
  readonly port: number;
  readonly store: ChatStore;
  readonly io: ParleyServer;
  /** Disconnects sockets, marks their users offline, closes the store. */
  close(): Promise<void>;
}

export async function startParley(config: Config, log: Logger): Promise<RunningParley> {
  for (const warning of config.warnings) log.warn(warning);
  const metrics = createMetrics();
  const backend = await openBackend(config.store, { uploadDir: config.uploads.dir, log });
  const store = await withEncryption(
    withStoreMetrics(backend.chat, metrics),
    config.encryptionKeys,
  );
  // A cluster node leaves this to the nodes' sweep of dead nodes (src/cluster/).
  if (!config.cluster) await settleStalePresence(store, log);
  const secret = config.auth.secret
    ? new TextEncoder().encode(config.auth.secret)
    : config.auth.devMode
    ? randomSecret()
    : undefined;
  const verifier: TokenVerifier = createTokenVerifier(config.auth, secret);

  // Hono must be the server's request listener before Socket.IO attaches, so
  // that Socket.IO can route its own paths first. `app` is built below, before
  // the server listens, so the closure never sees it uninitialised.
  const httpServer = createServer(getRequestListener((req) => app.fetch(req)));
  const io = createIo(httpServer, {
    corsOrigins: config.corsOrigins,
    hosts: config.hosts,
    recoveryWindowMs: config.delivery.recoveryWindowMs,
    maxPayloadBytes: config.limits.socketPayloadBytes,
  });

  // The socket half of delivery calls the domain half, which needs the notifier
  // built on the socket half: the port's methods reach `deliveries` at call time.
  const messageDelivery = new MessageDelivery(
    io,
    {
      acknowledged: (receiverId, messageId) => deliveries.acknowledged(receiverId, messageId),
      pending: (receiverId, limit, after) => deliveries.pending(receiverId, limit, after),
    },
    {
      ackTimeoutMs: config.delivery.ackTimeoutMs,
      catchUpPageSize: CATCH_UP_PAGE_SIZE,
      maxUnacked: config.delivery.maxUnackedPerSocket,
    },
    log,
  );
  // With REDIS_URL this process is one node of a cluster (README, "Running a cluster").
  const cluster = config.cluster
    ? await joinCluster(io, messageDelivery, config.cluster, log)
    : undefined;
  const notifier = roomNotifier(io, messageDelivery, metrics, cluster?.relay);
  const uploads = new UploadService(
    backend.uploads,
    { ...config.uploads, publicUrl: config.publicUrl },
    log,
  );
  const push = createPushService(config.push, backend.subscriptions, {
    // Through the adapter: with a cluster, sockets on every node count.
    isConnected: async (userId) => (await io.in(userRoom(userId)).fetchSockets()).length > 0,
    users: store.users,
    log,
  });
  const deliveries = new DeliveryService(store, notifier);
  const chat = new ChatService(store, notifier, combineHooks(uploads, push));
  const presence = cluster
    ? cluster.presence(store, notifier, config.presence)
    : new PresenceService(store, notifier, config.presence, log);
  const inFlight = new InFlight();
  const limiter = countRefusals(
    config.rateLimits
      ? cluster?.limiter(config.rateLimits) ?? new MemoryRateLimiter(config.rateLimits)
      : unlimited,
    metrics,
  );
  metrics.sources = {
    connectedSockets: () => io.of("/").sockets.size,
    onlineUsers: () => presence.onlineCount(),
    engineSessions: () => io.engine.clientsCount,
  };
  acceptConnections(io, {
    verifier,
    chat,
    presence,
    delivery: messageDelivery,
    inFlight,
    limiter,
    metrics,
    trustProxy: config.trustProxy,
    maxSocketsPerUser: config.limits.socketsPerUser,
    maxPendingSessions: config.limits.pendingSessions,
    log,
  });
  guardWriteBuffers(io, config.delivery.writeBuffer, log);
  const app: Hono = await createHttpApp({
    chat,
    verifier,
    devIssuer: config.auth.devMode && secret ? createTokenIssuer(secret) : undefined,
    corsOrigins: config.corsOrigins,
    hosts: config.hosts,
    ready: async () => {
      await backend.ping();
      await cluster?.ping();
    },
    limiter,
    maxBodyBytes: config.limits.bodyBytes,
    metrics,
    trustProxy: config.trustProxy,
    log,
    uploads,
    push,
  });
  uploads.startSweeper();

  await new Promise<void>((resolve, reject) => {
    httpServer.once("error", reject);
    httpServer.listen(config.port, config.host, () => resolve());
  });
  const { port } = httpServer.address() as AddressInfo;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;

  let closing: Promise<void> | undefined;
  return {
    url: `http://${host}:${port}`,
    port,
    store,
    io,
    close: () =>
      closing ??= (async () => {
        // 1. No new connections; events being handled finish and answer.
        httpServer.close();
        httpServer.closeIdleConnections();
        await inFlight.drain(SHUTDOWN_DRAIN_MS);
        // 2. Disconnect every socket. io.close() waits for keep-alive HTTP
        // connections too; under Deno a connection that served Socket.IO's
        // client file is never seen as idle, so what is left after a short
        // drain is closed outright.
        const closed = io.close();
        const force = setTimeout(() => httpServer.closeAllConnections(), HTTP_DRAIN_MS);
        await closed;
        clearTimeout(force);
        // 3. Writes started meanwhile, offline marks for everyone who was connected, the store.
        await inFlight.drain(SHUTDOWN_DRAIN_MS);
        await presence.close();
        await cluster?.close();
        await uploads.close();
        await push.close();
        await backend.close();
      })(),
  };
}

/**
 * One node is the only writer of presence: every user stored online now was
 * left so by a previous process that died without marking them offline (kill
 * -9, a crash, power loss). They are set offline before this process accepts
 * any connection; their clients reconnect and go online again.
 *
 * Their `lastSeen` becomes this start time. They were connected until the old
 * process died, which is after the `lastSeen` stored (the time they came
 * online, possibly hours earlier) and before now; with the usual supervisor
 * restart, within seconds of now. The stored time is kept only if it is later.
 */
async function settleStalePresence(store: ChatStore, log: Logger): Promise<void> {
  const startedAt = new Date().toISOString();
  const users = await store.users.markAllOffline(startedAt);
  if (users > 0) log.info("users left online by the previous process set offline", { users });
}
