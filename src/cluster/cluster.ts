/**
 * One node of a Parley cluster (`REDIS_URL` set; README, "Running a cluster"): Socket.IO's Redis
 * Streams adapter makes rooms span the nodes, `receiveMessage` is relayed to the other
 * nodes, and presence and rate limits live in Redis.
 *
 * The Streams adapter (not the classic pub/sub one) because Parley enables connection
 * state recovery: a client that comes back on another node gets the room broadcasts it
 * missed, read from the stream; the classic adapter cannot do that.
 */
import { createAdapter } from "@socket.io/redis-streams-adapter";
import type { Broadcaster } from "../chat/broadcaster.ts";
import type { PresenceOptions } from "../chat/presence.ts";
import type { ClusterConfig, RateBucket, RateLimitName } from "../config.ts";
import { MemoryRateLimiter, type RateLimiter } from "../limits/rate_limiter.ts";
import { RedisRateLimiter } from "./redis_rate_limiter.ts";
import { errorFields, type Logger } from "../log.ts";
import type { ChatMessage } from "../protocol/types.ts";
import type { ParleyServer } from "../realtime/io.ts";
import type { MessageDelivery } from "../realtime/message_delivery.ts";
import type { ChatStore } from "../store/repository.ts";
import { ClusterPresence } from "./cluster_presence.ts";
import { ADAPTER_BLOCK_MS, connectRedis, redisHost } from "./redis_link.ts";

/** Prefix of every Redis key Parley writes (the adapter's stream and sessions included). */
const PREFIX = "parley";
/**
 * Entries kept in the adapter's stream (trimmed approximately). Connection state recovery
 * replays from it, so it should hold a recovery window's worth of room broadcasts.
 */
const STREAM_MAX_LEN = 100_000;
/** Sockets caught up at once after a Redis outage (each reads the store). */
const CATCH_UP_CONCURRENCY = 8;

export interface ClusterNode {
  /** Unique per process; names this node's keys in Redis and its log lines. */
  readonly nodeId: string;
  /** Hands a new message to the other nodes, for their sockets of the receivers (one emit). */
  relay(receiverIds: readonly string[], message: ChatMessage): void;
  /** Cluster-wide presence; starts the node's heartbeat and the dead-node sweeper. */
  presence(store: ChatStore, notify: Broadcaster, options: PresenceOptions): ClusterPresence;
  /** Rate limits shared by all nodes (this node's own buckets while Redis is down). */
  limiter(limits: Readonly<Record<RateLimitName, RateBucket>>): RateLimiter;
  /** Resolves when Redis answers (for `/readyz`). */
  ping(): Promise<void>;
  /** After `io.close()` and presence's close: closes the Redis connections. */
  close(): Promise<void>;
}

/** Connects to Redis and puts the Socket.IO server on the Redis Streams adapter. */
export async function joinCluster(
  io: ParleyServer,
  delivery: MessageDelivery,
  config: ClusterConfig,
  log: Logger,
): Promise<ClusterNode> {
  const nodeId = crypto.randomUUID();
  const redis = await connectRedis(config.redisUrl, log);
  const streamsAdapter = createAdapter(redis.adapterClient, {
    streamName: `${PREFIX}:events`,
    sessionKeyPrefix: `${PREFIX}:session:`,
    maxLen: STREAM_MAX_LEN,
    blockTimeInMs: ADAPTER_BLOCK_MS,
  });
  io.adapter(function localWhileRedisIsDown(nsp) {
    const adapter = streamsAdapter(nsp);
    // The adapter sends a broadcast to this node's own sockets only once Redis has stored it
    // (it needs the stream offset for recovery), and drops it when that fails. With CSR on,
    // every socket.emit is such a broadcast. While Redis is down, this node's sockets are
    // served at once instead, and the other nodes miss what happened here.
    const broadcast = adapter.broadcast.bind(adapter);
    adapter.broadcast = (packet, opts) => {
      if (redis.healthy) return broadcast(packet, opts);
      return broadcast(packet, { ...opts, flags: { ...opts.flags, local: true } });
    };
    return adapter;
  });
  io.of("/").on("deliverMessage", (receiverId, message) => delivery.deliver(receiverId, message));
  io.of("/").on("deliverToMany", (receiverIds, message) => {
    for (const receiverId of receiverIds) delivery.deliver(receiverId, message);
  });
  // Relayed messages are pub/sub, at most once: whatever a node missed while Redis was
  // away is still undelivered in the store, so its sockets catch up once Redis is back.
  // Likewise when another node leaves: a message it stored and confirmed just before it
  // died may never have been relayed.
  const catchUp = () => void catchUpAll(io, delivery, log);
  redis.onRestored(catchUp);
  log.info("joined the cluster", { node: nodeId, redis: redisHost(config.redisUrl) });

  return {
    nodeId,
    relay(receiverIds, message) {
      // Without Redis it would be lost anyway; the receivers catch up when Redis is back.
      if (!redis.healthy) return;
      // A 1:1 message keeps the event nodes of an earlier version understand (rolling upgrades).
      if (receiverIds.length === 1) io.serverSideEmit("deliverMessage", receiverIds[0]!, message);
      else io.serverSideEmit("deliverToMany", [...receiverIds], message);
    },
    presence(store, notify, options) {
      const presence = new ClusterPresence(redis, { store, notify, log, peerGone: catchUp }, {
        ...options,
        nodeId,
        nodeTtlMs: config.nodeTtlMs,
        prefix: PREFIX,
      });
      presence.start();
      return presence;
    },
    limiter(limits) {
      return new RedisRateLimiter(
        redis.commands,
        limits,
        new MemoryRateLimiter(limits),
        log,
        PREFIX,
      );
    },
    ping: () => redis.ping(),
    close: () => redis.close(),
  };
}

/** Sends every socket of this node what it has not been delivered yet (after an outage). */
async function catchUpAll(io: ParleyServer, delivery: MessageDelivery, log: Logger) {
  const sockets = [...io.of("/").sockets.values()];
  try {
    for (let i = 0; i < sockets.length; i += CATCH_UP_CONCURRENCY) {
      await Promise.all(
        sockets.slice(i, i + CATCH_UP_CONCURRENCY).map((socket) => delivery.catchUp(socket)),
      );
    }
  } catch (err) {
    log.error("catch-up after the redis outage failed", errorFields(err));
  }
}
