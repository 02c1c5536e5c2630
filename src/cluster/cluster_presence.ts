/**
 * Presence across a cluster: a user is online while any of its sockets on any node is
 * connected. Redis holds, per user, which nodes have a socket of it and whether it was
 * announced online; the Lua scripts in scripts.ts make "first socket anywhere" and "last
 * socket anywhere, after the grace period" atomic decisions, so each change is announced
 * once (stored first, then `userOnline`), by the node that saw it.
 *
 * Nodes die without saying so (kill -9): each node renews a heartbeat key with a TTL, and
 * every node sweeps for nodes whose heartbeat expired. One sweeper takes a dead node's
 * users over and announces offline those that have no socket left anywhere; its clients
 * usually reconnect to another node first, and then nothing is announced. A user of a
 * dead node goes offline at most `nodeTtlMs * 4/3` after the node died.
 *
 * While Redis cannot be reached this node keeps counting its own sockets but announces
 * nothing; when Redis is back (or when the node finds it was taken over, or that Redis lost
 * its data) it rewrites its share from what it knows and settles what changed meanwhile,
 * using the store's `isOnline` to tell what others were last told.
 */
import { LocalSockets } from "../chat/local_sockets.ts";
import type { Identity } from "../protocol/types.ts";
import type { Broadcaster } from "../chat/broadcaster.ts";
import { announcePresence, type Presence, type PresenceOptions } from "../chat/presence.ts";
import { errorFields, type Logger } from "../log.ts";
import type { ChatStore } from "../store/repository.ts";
import { type RedisLink, withTimeout } from "./redis_link.ts";
import {
  NODE_HEARTBEAT,
  NODE_RESYNC,
  NODE_TAKE_OVER,
  PRESENCE_CONNECT,
  PRESENCE_DISCONNECT,
  PRESENCE_EXPIRE,
} from "./scripts.ts";

export interface ClusterPresenceOptions extends PresenceOptions {
  /** This node's id, unique in the cluster (a fresh one per process). */
  nodeId: string;
  /** A node whose heartbeat is older than this is dead. */
  nodeTtlMs: number;
  /** Prefix of every Redis key. */
  prefix: string;
}

export interface PresenceDeps {
  store: ChatStore;
  notify: Broadcaster;
  log: Logger;
  /**
   * Another node left the cluster (died and was taken over, or shut down). What it relayed
   * last may never have left it, so this node's sockets should catch up.
   */
  peerGone?: () => void;
}

/** Redis answered a presence script with an unexpected shape. */
function asStrings(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

export class ClusterPresence implements Presence {
  /** Sockets of each user on this node. */
  private readonly local: LocalSockets;
  /** Users whose offline check could not reach Redis; checked again after a resync. */
  private readonly unsettled = new Set<string>();
  /** Redis calls and announcements of one user run in order, one at a time. */
  private readonly chains = new Map<string, Promise<void>>();
  private readonly inFlight = new Set<Promise<void>>();
  private readonly timers = new Set<ReturnType<typeof setTimeout>>();
  private heartbeat?: ReturnType<typeof setInterval>;
  /** The beat running now: a beat that comes due meanwhile is skipped. */
  private beating?: Promise<void>;
  private registered = false;
  /** Something failed to reach Redis: rewrite this node's share once it answers again. */
  private dirty = false;
  private resyncing?: Promise<void>;
  /** No takeovers right after an outage: the other nodes need a beat to re-register. */
  private sweepPausedUntil = 0;
  private closed = false;
  /** Other nodes registered at the last sweep. */
  private peers = new Set<string>();

  constructor(
    private readonly redis: RedisLink,
    private readonly deps: PresenceDeps,
    private readonly options: ClusterPresenceOptions,
  ) {
    this.local = new LocalSockets(options.graceMs);
  }

  /** Registers this node and starts its heartbeat and the sweeper. */
  start(): void {
    const every = this.beatMs;
    this.heartbeat = setInterval(() => this.beatOnce(), every);
    this.beatOnce();
    this.redis.onRestored(() => {
      this.sweepPausedUntil = Date.now() + this.options.nodeTtlMs;
      this.dirty = true;
      void this.beating?.then(() => this.beatOnce());
      this.beatOnce();
    });
  }

  async connected(identity: Identity): Promise<void> {
    const { userId } = identity;
    const { count } = this.local.add(userId);
    this.unsettled.delete(userId);
    await this.deps.store.users.upsertProfile(userId, {
      username: identity.username,
      email: identity.email,
    });
    if (count > 1) return;
    await this.serial(userId, async () => {
      if (!this.local.has(userId)) return;
      const first = await this.call(
        () =>
          PRESENCE_CONNECT.run(this.redis.commands, [this.userKey(userId), this.usersKey], [
            this.options.nodeId,
            userId,
          ]),
      );
      if (first === 1) await this.announce(userId, true);
    });
  }

  disconnected(userId: string): void {
    const last = this.local.remove(
      userId,
      () => this.track(this.settle(userId, { force: false, own: true })),
    );
    if (!last) return;
    this.track(this.serial(userId, async () => {
      if (this.local.has(userId)) return;
      await this.call(() =>
        PRESENCE_DISCONNECT.run(this.redis.commands, [this.userKey(userId)], [this.options.nodeId])
      );
    }));
  }

  onlineCount(): number {
    return this.local.onlineCount;
  }

  /**
   * On shutdown (after every socket was disconnected): users in their grace period are
   * settled now, and the node leaves the cluster.
   */
  async close(): Promise<void> {
    this.closed = true;
    clearInterval(this.heartbeat);
    for (const timer of this.timers) clearTimeout(timer);
    for (const userId of this.local.endGracePeriods()) {
      this.track(this.settle(userId, { force: true, own: true }));
    }
    await Promise.allSettled([...this.inFlight]);
    const { commands } = this.redis;
    await Promise.allSettled([
      commands.del([this.nodeKey, this.usersKey]),
      commands.sRem(this.nodesKey, this.options.nodeId),
    ]);
  }

  private get beatMs(): number {
    return Math.max(100, Math.floor(this.options.nodeTtlMs / 3));
  }

  private get nodeKey(): string {
    return `${this.options.prefix}:node:${this.options.nodeId}`;
  }

  private get usersKey(): string {
    return `${this.options.prefix}:node:${this.options.nodeId}:users`;
  }

  private get nodesKey(): string {
    return `${this.options.prefix}:nodes`;
  }

  private userKey(userId: string): string {
    return `${this.options.prefix}:user:${userId}`;
  }

  private beatOnce(): void {
    if (this.beating) return;
    const beat = this.beat().finally(() => this.beating = undefined);
    this.beating = beat;
    this.track(beat);
  }

  /** One heartbeat, then a resync if one is due, then a sweep for dead nodes. */
  private async beat(): Promise<void> {
    if (this.closed) return;
    const fresh = await this.call(() =>
      NODE_HEARTBEAT.run(this.redis.commands, [this.nodeKey, this.nodesKey], [
        this.options.nodeId,
        String(this.options.nodeTtlMs),
      ])
    );
    if (fresh === undefined) return;
    // Not registered although it had been: taken over while it could not beat, or Redis
    // lost its data. Either way its share must be written again.
    if (fresh === 1 && this.registered) {
      this.deps.log.warn("cluster node re-registered", { node: this.options.nodeId });
      this.dirty = true;
    }
    this.registered = true;
    if (this.dirty) await this.resync();
    await this.sweep();
  }

  /** Takes over nodes whose heartbeat expired (one sweeper wins each); notices nodes gone. */
  private async sweep(): Promise<void> {
    if (this.closed) return;
    const nodes = await this.call(() => this.redis.commands.sMembers(this.nodesKey));
    if (nodes === undefined) return;
    const present = new Set(nodes.filter((node) => node !== this.options.nodeId));
    let gone = [...this.peers].some((node) => !present.has(node));
    this.peers = present;
    const mayTakeOver = Date.now() >= this.sweepPausedUntil;
    for (const node of present) {
      if (!mayTakeOver) break;
      const prefix = `${this.options.prefix}:node:${node}`;
      const users = await this.call(() =>
        NODE_TAKE_OVER.run(this.redis.commands, [this.nodesKey, prefix, `${prefix}:users`], [
          node,
          this.options.prefix,
        ])
      );
      if (!users) continue;
      present.delete(node);
      gone = true;
      const taken = asStrings(users);
      this.deps.log.warn("took over a dead cluster node", { node, users: taken.length });
      for (const userId of taken) this.track(this.settle(userId, { force: true, own: false }));
    }
    if (gone) this.deps.peerGone?.();
  }

  /** Rewrites this node's share of presence from its own sockets (after an outage). */
  private resync(): Promise<void> {
    return this.resyncing ??= (async () => {
      this.dirty = false;
      const args = [this.options.nodeId, this.options.prefix];
      for (const userId of this.local.connectedUsers()) args.push(userId, "1");
      for (const userId of this.local.waitingUsers()) args.push(userId, "0");
      const reply = await this.call(() =>
        NODE_RESYNC.run(this.redis.commands, [this.usersKey], args)
      );
      if (reply === undefined) return;
      const [marked, gone] = Array.isArray(reply) ? reply.map(asStrings) : [];
      this.deps.log.info("cluster presence resynced", {
        node: this.options.nodeId,
        users: [...this.local.connectedUsers()].length,
      });
      // Marked online in Redis now: announce where the store says others last heard "offline".
      for (const userId of marked ?? []) {
        this.track(this.serial(userId, async () => {
          if (!this.local.has(userId)) return;
          const user = await this.deps.store.users.get(userId).catch(() => null);
          if (!user?.isOnline) await this.announce(userId, true);
        }));
      }
      // Gone meanwhile: checked after a beat, once the other nodes have written their share too.
      const check = new Set([...(gone ?? []), ...this.unsettled]);
      this.unsettled.clear();
      if (check.size === 0) return;
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        for (const userId of check) {
          if (this.local.isOnline(userId)) continue;
          this.track(this.settle(userId, { force: true, own: true, askStore: true }));
        }
      }, this.beatMs);
      this.timers.add(timer);
    })().finally(() => this.resyncing = undefined);
  }

  /**
   * Announces offline if the user has no socket on any node. `force` ignores a later leave
   * on another node; `askStore`: when Redis no longer knows the user as online (it lost its
   * data), the store tells whether others were last told "online".
   */
  private settle(
    userId: string,
    how: { force: boolean; own: boolean; askStore?: boolean },
  ): Promise<void> {
    return this.serial(userId, async () => {
      if (this.local.has(userId)) return;
      const result = await this.call(() =>
        PRESENCE_EXPIRE.run(this.redis.commands, [this.userKey(userId), this.usersKey], [
          this.options.nodeId,
          userId,
          String(this.options.graceMs),
          how.force ? "1" : "0",
          how.own ? "1" : "0",
        ])
      );
      if (result === undefined) {
        this.unsettled.add(userId);
        return;
      }
      if (result === 1) return await this.announce(userId, false);
      if (result === 2 && how.askStore) {
        const user = await this.deps.store.users.get(userId).catch(() => null);
        if (user?.isOnline) await this.announce(userId, false);
      }
    });
  }

  private announce(userId: string, isOnline: boolean): Promise<void> {
    return announcePresence(this.deps, this.options.broadcast, userId, isOnline);
  }

  /** A Redis call; `undefined` when Redis cannot be reached (then a resync is due). */
  private async call<T>(work: () => Promise<T>): Promise<T | undefined> {
    try {
      return await withTimeout(work());
    } catch (err) {
      if (!this.dirty && !this.closed) {
        this.deps.log.warn("cluster presence paused: redis unreachable", errorFields(err));
      }
      this.dirty = true;
      return undefined;
    }
  }

  private serial(userId: string, work: () => Promise<void>): Promise<void> {
    const previous = this.chains.get(userId) ?? Promise.resolve();
    const next = previous.then(work).catch((err) =>
      this.deps.log.error("cluster presence failed", { userId, ...errorFields(err) })
    );
    this.chains.set(userId, next);
    next.finally(() => {
      if (this.chains.get(userId) === next) this.chains.delete(userId);
    });
    return next;
  }

  private track(work: Promise<void>): void {
    const safe = work.catch((err) =>
      this.deps.log.error("cluster presence failed", errorFields(err))
    );
    this.inFlight.add(safe);
    safe.finally(() => this.inFlight.delete(safe));
  }
}
