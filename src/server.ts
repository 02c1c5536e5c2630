/**
 * Composition root of one Parley process: config → store → services → HTTP app
 * and Socket.IO on one `node:http` server. Each part is built after everything
 * it uses: the outbound side (broadcaster, delivery), then the chat services,
 * then the two doors (HTTP, sockets) onto them.
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
import { startPresence } from "./chat/presence.ts";
import { joinCluster } from "./cluster/cluster.ts";
import type { Config } from "./config.ts";
import { createHttpApp } from "./http/app.ts";
import type { Logger } from "./log.ts";
import { acceptConnections } from "./realtime/connections.ts";
import { guardWriteBuffers } from "./realtime/write_buffer_guard.ts";
import { userSessions } from "./realtime/user_sessions.ts";
import { countRefusals } from "./limits/counted.ts";
import { MemoryRateLimiter, unlimited } from "./limits/rate_limiter.ts";
import { createMetrics, errorReport } from "./metrics/metrics.ts";
import { withStoreMetrics } from "./metrics/store_metrics.ts";
import { InFlight } from "./realtime/in_flight.ts";
import { createIo, type ParleyServer, userRoom } from "./realtime/io.ts";
import { MessageDelivery } from "./realtime/message_delivery.ts";
import { liveDelivery } from "./realtime/live_delivery.ts";
import { roomBroadcaster } from "./realtime/room_broadcaster.ts";
import { withEncryption, withSealedOutbox } from "./store/encrypted_store.ts";
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
  const secret = config.auth.secret
    ? new TextEncoder().encode(config.auth.secret)
    : config.auth.devMode
    ? randomSecret()
    : undefined;
  const verifier: TokenVerifier = createTokenVerifier(config.auth, secret);

  // Not attached to the HTTP server yet: the parts below emit through it, and the
  // HTTP server's request listener (the Hono app) needs them first.
  const io = createIo({
    corsOrigins: config.corsOrigins,
    hosts: config.hosts,
    recovery: config.delivery.recovery,
    maxPayloadBytes: config.limits.socketPayloadBytes,
    report: errorReport(metrics, log, "handshake refused"),
  });

  // The outbound side: broadcasts to users' rooms, and new messages to their devices.
  const broadcaster = roomBroadcaster(io, metrics);
  const deliveries = new DeliveryService(store, broadcaster);
  const messageDelivery = new MessageDelivery(
    io,
    deliveries,
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
  const delivery = liveDelivery(messageDelivery, metrics, cluster?.relay);

  // The services.
  const uploads = new UploadService(
    backend.uploads,
    { ...config.uploads, publicUrl: config.publicUrl },
    log,
    { messages: store.messages, groups: store.groups },
  );
  const outbox = await withSealedOutbox(backend.outbox, config.encryptionKeys);
  const push = createPushService(config.push, { subscriptions: backend.subscriptions, outbox }, {
    // Through the adapter: with a cluster, sockets on every node count.
    isConnected: async (userId) => (await io.in(userRoom(userId)).fetchSockets()).length > 0,
    connectedAmong: async (userIds) =>
      new Set((await io.in(userIds.map(userRoom)).fetchSockets()).map((s) => s.data.userId)),
    groups: store.groups,
    users: store.users,
    mutes: store.mutes,
    log,
  });
  const chat = new ChatService(
    store,
    broadcaster,
    delivery,
    combineHooks(uploads, push, push.events.hooks),
    { editWindowMs: config.chat.editWindowMs, maxGroupMembers: config.chat.maxGroupMembers },
  );
  // Presence changes also go to the events webhook (user.online, user.offline).
  const presenceStore = push.events.withPresenceEvents(store);
  const presence = cluster
    ? cluster.presence(presenceStore, broadcaster, config.presence)
    : await startPresence(presenceStore, broadcaster, config.presence, log);
  const inFlight = new InFlight();
  const limiter = countRefusals(
    config.rateLimits
      ? cluster?.limiter(config.rateLimits) ?? new MemoryRateLimiter(config.rateLimits)
      : unlimited,
    metrics,
  );
  // The doors: HTTP, then sockets once the HTTP server exists.
  const app: Hono = await createHttpApp({
    chat,
    verifier,
    devIssuer: config.auth.devMode && secret ? createTokenIssuer(secret, config.auth) : undefined,
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
    service: config.auth.serviceKeys.length === 0
      ? undefined
      : { keys: config.auth.serviceKeys, sessions: userSessions(io), store, backend },
  });

  // Hono must be the HTTP server's request listener before Socket.IO attaches,
  // so that Socket.IO can route its own paths first.
  // (app.fetch itself, not a wrapper: its second argument carries the socket, for client
  // addresses.)
  const httpServer = createServer(getRequestListener(app.fetch));
  io.attach(httpServer);
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
