/**
 * Online/offline tracking for this process: a user is online while any of its
 * sockets is connected. The first socket announces "online"; the last one to
 * leave announces "offline" after a short grace period, so that a page reload
 * does not flap. A second tab connecting or closing announces nothing.
 * A cluster of nodes shares this state in Redis instead: src/cluster/cluster_presence.ts.
 */
import type { Logger } from "../log.ts";
import { errorFields } from "../log.ts";
import type { Identity } from "../protocol/types.ts";
import type { ChatStore } from "../store/repository.ts";
import type { Broadcaster } from "./broadcaster.ts";
import { LocalSockets } from "./local_sockets.ts";

export interface PresenceOptions {
  /** `partners`: tell users who share a conversation (a group included); `all`: every socket. */
  broadcast: "partners" | "all";
  /** How long a user with no sockets stays online, against reconnect flapping. */
  graceMs: number;
}

/** What the realtime layer reports; `PresenceService` (one process) or `ClusterPresence`. */
export interface Presence {
  /** Records a new socket of the user; resolves once the user is stored online. */
  connected(identity: Identity): Promise<void>;
  disconnected(userId: string): void;
  /** Users with a socket on this process, or inside their grace period. */
  onlineCount(): number;
  /** Settles the users of this process and awaits every store write started. */
  close(): Promise<void>;
}

/**
 * Stores the state first, then tells the others, except users blocked either
 * way (a block hides presence both ways); a failure is logged, never thrown.
 */
export async function announcePresence(
  deps: { store: ChatStore; notify: Broadcaster; log: Logger },
  broadcast: PresenceOptions["broadcast"],
  userId: string,
  isOnline: boolean,
): Promise<void> {
  const lastSeen = new Date().toISOString();
  try {
    await deps.store.users.setPresence(userId, isOnline, lastSeen);
    const payload = { userId, isOnline, lastSeen };
    const blocked = await deps.store.blocks.blockedEitherWay(userId);
    if (broadcast === "all") {
      deps.notify.toEveryoneExcept(blocked, "userOnline", payload);
    } else {
      const hidden = new Set([...blocked, userId]);
      const partners = await sharingAConversation(deps.store, userId);
      deps.notify.toUsers(partners.filter((id) => !hidden.has(id)), "userOnline", payload);
    }
  } catch (err) {
    deps.log.error("presence update failed", { userId, isOnline, ...errorFields(err) });
  }
}

/** Every user who shares a 1:1 conversation or a group with this one (themselves included). */
async function sharingAConversation(store: ChatStore, userId: string): Promise<string[]> {
  const [partners, groups] = await Promise.all([
    store.messages.partnersOf(userId),
    store.groups.groupsOf(userId),
  ]);
  return [...new Set([...partners, ...groups.flatMap((group) => group.memberIds)])];
}

/**
 * Presence of a single node, which is the only writer of presence: every user
 * stored online when it starts was left so by a previous process that died
 * without marking them offline (kill -9, a crash, power loss). They are set
 * offline before this process accepts any connection; their clients reconnect
 * and go online again. (A cluster node leaves this to the nodes' sweep of dead
 * nodes, src/cluster/cluster_presence.ts.)
 *
 * Their `lastSeen` becomes this start time. They were connected until the old
 * process died, which is after the `lastSeen` stored (the time they came
 * online, possibly hours earlier) and before now; with the usual supervisor
 * restart, within seconds of now. The stored time is kept only if it is later.
 */
export async function startPresence(
  store: ChatStore,
  notify: Broadcaster,
  options: PresenceOptions,
  log: Logger,
): Promise<PresenceService> {
  const users = await store.users.markAllOffline(new Date().toISOString());
  if (users > 0) log.info("users left online by the previous process set offline", { users });
  return new PresenceService(store, notify, options, log);
}

export class PresenceService implements Presence {
  private readonly local: LocalSockets;
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly store: ChatStore,
    private readonly notify: Broadcaster,
    private readonly options: PresenceOptions,
    private readonly log: Logger,
  ) {
    this.local = new LocalSockets(options.graceMs);
  }

  /** Records a new socket of the user; resolves once the user is stored online. */
  async connected(identity: Identity): Promise<void> {
    const { userId } = identity;
    const { count, resumed } = this.local.add(userId);
    await this.store.users.upsertProfile(userId, {
      username: identity.username,
      email: identity.email,
    });
    // Still online after a grace-period reconnect: nothing changed for anyone else.
    if (count > 1 || resumed) return;
    await this.announce(userId, true);
  }

  disconnected(userId: string): void {
    this.local.remove(userId, () => this.track(this.announce(userId, false)));
  }

  /** Users with a socket on this process, or inside their grace period. */
  onlineCount(): number {
    return this.local.onlineCount;
  }

  /**
   * On shutdown: users whose sockets are gone are marked offline now instead
   * of after the grace period, and every store write started is awaited.
   */
  async close(): Promise<void> {
    for (const userId of this.local.endGracePeriods()) this.track(this.announce(userId, false));
    await Promise.allSettled([...this.inFlight]);
  }

  private track(work: Promise<void>): void {
    this.inFlight.add(work);
    work.finally(() => this.inFlight.delete(work));
  }

  private announce(userId: string, isOnline: boolean): Promise<void> {
    const { store, notify, log } = this;
    return announcePresence({ store, notify, log }, this.options.broadcast, userId, isOnline);
  }
}
