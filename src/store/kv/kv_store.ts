/**
 * The embedded backend: one Deno KV database (a local file, or `:memory:`).
 *
 * Key layout (every index is updated in the same atomic commit as the message):
 *   ["users", userId]                     → User
 *   ["msg", messageId]                    → ChatMessage
 *   ["hist", lowUser, highUser, msgId]    → 1   conversation history, by time
 *   ["undelivered", receiverId, msgId]    → 1   offline catch-up, oldest first
 *   ["conv", owner, partner]              → ConversationState
 *   ["conv_recent", owner, lastMsgId]     → partner   conversations, newest first
 *   ["client_ids", senderId, clientId]    → ClientIdRecord   idempotent send
 * Message ids are monotonic ULIDs, so key order is arrival order.
 *
 * My-chats merges the user's most recent conversations' histories (the newest
 * n messages of a user lie in its n most recent conversations), so a message
 * writes no per-user index of its own: each index range a commit touches costs
 * SQLite a B-tree page, and those pages, not commits, bound the write rate
 * (bench/kv_write_cost.ts). Files written before this layout also hold
 * ["inbox", userId, msgId] keys; nothing reads them, delete still removes them.
 *
 * Every write goes through one group-commit queue (group_commit.ts): writes
 * that arrive while a commit is in flight share the next atomic commit, and
 * each resolves only after that commit. The queue is the only writer, so
 * writes run one after another against the committed state plus the earlier
 * writes of their batch: concurrent sends with one client id, or to one
 * conversation, see each other exactly as if they had been committed one by one.
 * Being the only writer, the queue also knows the current value of what it
 * wrote or read; recent messages, conversation rows and users are served from
 * that memory (GroupCommit.readMany), the rest from the store.
 */
import { dirname } from "node:path";
import { monotonicFactory } from "ulid";
import { AppError } from "../../errors.ts";
import type { ChatMessage } from "../../protocol/types.ts";
import type {
  ChatStore,
  ConversationSummary,
  HistoryQuery,
  InsertResult,
  MessageRepository,
  NewMessage,
  PageQuery,
  User,
  UserProfile,
  UserRepository,
} from "../repository.ts";
import { conversationKey } from "../conversation_key.ts";
import { GroupCommit, type GroupCommitOptions, type KvTx } from "./group_commit.ts";

interface ConversationState {
  lastMessageId: string | null;
  unreadCount: number;
}

interface ClientIdRecord {
  messageId: string;
  deleted: boolean;
}

/**
 * Values read again soon after they are written (a message on delivery and in
 * history, conversation rows, users): the most recent are kept in memory.
 */
const CACHED_PREFIXES = new Set(["msg", "conv", "users"]);

export interface KvStoreOptions {
  /** Batching limits of the write queue; the defaults suit Deno KV's own limits. */
  groupCommit?: GroupCommitOptions;
}

export async function openKvStore(path: string, options: KvStoreOptions = {}): Promise<ChatStore> {
  if (path !== ":memory:") await Deno.mkdir(dirname(path), { recursive: true });
  const kv = await Deno.openKv(path);
  const writes = new GroupCommit(kv, {
    cacheable: (key) => CACHED_PREFIXES.has(key[0] as string),
    ...options.groupCommit,
  });
  return {
    kind: "kv",
    users: new KvUserRepository(kv, writes),
    messages: new KvMessageRepository(kv, writes),
    ping: async () => void await kv.get(["users", ""]),
    close: async () => {
      await writes.idle();
      kv.close();
    },
  };
}

class KvUserRepository implements UserRepository {
  constructor(private readonly kv: Deno.Kv, private readonly writes: GroupCommit) {}

  upsertProfile(userId: string, profile: UserProfile): Promise<User> {
    return this.update(userId, (user) => ({
      ...user,
      username: profile.username ?? user.username,
      email: profile.email ?? user.email,
    }));
  }

  async setPresence(userId: string, isOnline: boolean, lastSeen: string): Promise<void> {
    await this.update(userId, (user) => ({ ...user, isOnline, lastSeen }));
  }

  /**
   * Scans every user once (start-up only: no index of online users is kept).
   * The listing runs outside the write queue, which a key-range listing must:
   * it would not see a batch's writes. Each user found online is then changed
   * by a write of its own that reads the user again, so only users still
   * online change, and the queue splits those writes into commits within
   * Deno KV's limits however many there are.
   */
  async markAllOffline(lastSeen: string): Promise<number> {
    const online: Deno.KvKey[] = [];
    for await (const entry of this.kv.list<User>({ prefix: ["users"] })) {
      if (entry.value.isOnline) online.push(entry.key);
    }
    const changed = await Promise.all(online.map((key) =>
      this.writes.submit({
        prefetch: [key],
        run: async (tx) => {
          const user = await tx.get<User>(key);
          if (!user?.isOnline) return false;
          tx.set(key, {
            ...user,
            isOnline: false,
            lastSeen: latest(user.lastSeen, lastSeen),
            updatedAt: new Date().toISOString(),
          });
          return true;
        },
      })
    ));
    return changed.filter(Boolean).length;
  }

  async get(userId: string): Promise<User | null> {
    const [user] = await this.writes.readMany<User>([["users", userId]]);
    return user ?? null;
  }

  async getMany(userIds: readonly string[]): Promise<Map<string, User>> {
    const found = await this.writes.readMany<User>(userIds.map((id) => ["users", id]));
    const users = new Map<string, User>();
    for (const user of found) if (user) users.set(user._id, user);
    return users;
  }

  private update(userId: string, change: (user: User) => User): Promise<User> {
    const key = ["users", userId];
    return this.writes.submit({
      prefetch: [key],
      run: async (tx) => {
        const now = new Date().toISOString();
        const current = await tx.get<User>(key) ?? newUser(userId, now);
        const next = { ...change(current), updatedAt: now };
        tx.set(key, next);
        return next;
      },
    });
  }
}

/** The later of two ISO times; `at` when there is no `current`. */
function latest(current: string | null, at: string): string {
  return current !== null && Date.parse(current) > Date.parse(at) ? current : at;
}

function newUser(userId: string, now: string): User {
  return {
    _id: userId,
    username: null,
    email: null,
    isOnline: false,
    lastSeen: null,
    createdAt: now,
    updatedAt: now,
  };
}

class KvMessageRepository implements MessageRepository {
  private readonly nextId = monotonicFactory();

  constructor(private readonly kv: Deno.Kv, private readonly writes: GroupCommit) {}

  insert(input: NewMessage): Promise<InsertResult> {
    const now = new Date();
    // Ids are taken in call order and writes run in queue order: key order stays arrival order.
    const message: ChatMessage = {
      _id: this.nextId(now.getTime()),
      senderId: input.senderId,
      receiverId: input.receiverId,
      text: input.text,
      file: input.file,
      clientMessageId: input.clientMessageId,
      createdAt: now.toISOString(),
      updatedAt: now.toISOString(),
      deliveredAt: null,
      readAt: null,
    };
    const { senderId: s, receiverId: r } = message;
    const [lo, hi] = conversationKey(s, r);
    const clientKey = input.clientMessageId === null
      ? null
      : ["client_ids", s, input.clientMessageId];
    const mineKey = ["conv", s, r];
    const theirsKey = ["conv", r, s];

    return this.writes.submit<InsertResult>({
      prefetch: [mineKey, theirsKey],
      run: async (tx) => {
        if (clientKey) {
          // Sees a send of the same id earlier in this batch too: exactly one is stored.
          // A new id is not read but checked at commit: a resend makes the batch run again.
          const seen = await tx.getExpectingAbsent<ClientIdRecord>(clientKey);
          if (seen) return await this.duplicateOf(tx, seen);
        }
        const mine = await tx.get<ConversationState>(mineKey);
        const theirs = await tx.get<ConversationState>(theirsKey);
        tx.set(["msg", message._id], message);
        tx.set(["hist", lo, hi, message._id], 1);
        tx.set(["undelivered", r, message._id], 1);
        if (clientKey) {
          tx.set(clientKey, { messageId: message._id, deleted: false } satisfies ClientIdRecord);
        }
        moveToTop(tx, s, r, mine, message._id, 0);
        moveToTop(tx, r, s, theirs, message._id, 1);
        return { message, duplicate: false };
      },
    });
  }

  private async duplicateOf(tx: KvTx, record: ClientIdRecord): Promise<InsertResult> {
    if (record.deleted) throw new AppError("DELETED", "This message was deleted");
    const original = await tx.get<ChatMessage>(["msg", record.messageId]);
    if (!original) throw new AppError("DELETED", "This message was deleted");
    return { message: original, duplicate: true };
  }

  async get(messageId: string): Promise<ChatMessage | null> {
    const [message] = await this.writes.readMany<ChatMessage>([["msg", messageId]]);
    return message ?? null;
  }

  async history(userA: string, userB: string, query: HistoryQuery): Promise<ChatMessage[]> {
    const prefix = ["hist", ...conversationKey(userA, userB)];
    const selector: Deno.KvListSelector = query.before
      ? { prefix, end: [...prefix, query.before] }
      : { prefix };
    const page = await this.pageOfIds(selector, query);
    return page.reverse();
  }

  /**
   * Newest first across the user's conversations: a k-way merge of their
   * histories. Only the `skip + limit` most recent conversations can hold the
   * newest `skip + limit` messages; each one's newest id is its recency key, and
   * its history is read only once the merge gets past that message.
   */
  async listForUser(userId: string, query: PageQuery): Promise<ChatMessage[]> {
    const wanted = query.skip + query.limit;
    const heads = new MaxHeap();
    const recent = this.kv.list<string>({ prefix: ["conv_recent", userId] }, {
      reverse: true,
      limit: wanted,
    });
    for await (const entry of recent) {
      const prefix = ["hist", ...conversationKey(userId, entry.value)];
      heads.push({ id: String(entry.key.at(-1)), prefix, older: [], exhausted: false });
    }
    const ids: string[] = [];
    while (ids.length < wanted) {
      const head = heads.pop();
      if (!head) break;
      ids.push(head.id);
      if (head.older.length === 0 && !head.exhausted && ids.length < wanted) {
        const limit = wanted - ids.length;
        const selector = { prefix: head.prefix, end: [...head.prefix, head.id] };
        for await (const entry of this.kv.list(selector, { reverse: true, limit })) {
          head.older.push(String(entry.key.at(-1)));
        }
        head.exhausted = head.older.length < limit;
      }
      const next = head.older.shift();
      if (next !== undefined) heads.push({ ...head, id: next });
    }
    return await this.messagesById(ids.slice(query.skip));
  }

  /** Newest first: ids are the last key part, messages are looked up by id. */
  private async pageOfIds(selector: Deno.KvListSelector, query: PageQuery) {
    const ids: string[] = [];
    const iter = this.kv.list(selector, { reverse: true, limit: query.skip + query.limit });
    for await (const entry of iter) ids.push(String(entry.key.at(-1)));
    return await this.messagesById(ids.slice(query.skip));
  }

  /** The messages of these ids that exist, in the same order (recent ones from memory). */
  private async messagesById(ids: string[]): Promise<ChatMessage[]> {
    const found = await this.writes.readMany<ChatMessage>(ids.map((id) => ["msg", id]));
    return found.filter((m): m is ChatMessage => m !== null);
  }

  markRead(messageId: string, readAt: string): Promise<ChatMessage | null> {
    const key = ["msg", messageId];
    return this.writes.submit<ChatMessage | null>({
      prefetch: [key],
      run: async (tx) => {
        const stored = await tx.get<ChatMessage>(key);
        if (!stored || stored.readAt) return null;
        const deliveredAt = stored.deliveredAt ?? readAt;
        const message = { ...stored, deliveredAt, readAt, updatedAt: readAt };
        const convKey = ["conv", message.receiverId, message.senderId];
        const conv = await tx.get<ConversationState>(convKey);
        tx.set(key, message);
        tx.delete(["undelivered", message.receiverId, messageId]);
        if (conv) tx.set(convKey, { ...conv, unreadCount: Math.max(0, conv.unreadCount - 1) });
        return message;
      },
    });
  }

  delete(messageId: string): Promise<boolean> {
    return this.writes.submit<boolean>({
      // It lists the conversation's history, which a batch's earlier writes would not show.
      alone: true,
      run: async (tx) => {
        const message = await tx.get<ChatMessage>(["msg", messageId]);
        if (!message) return false;
        const { senderId: s, receiverId: r } = message;
        const [lo, hi] = conversationKey(s, r);
        const mine = await tx.get<ConversationState>(["conv", s, r]);
        const theirs = await tx.get<ConversationState>(["conv", r, s]);
        const replacement = await this.newestOtherThan(["hist", lo, hi], messageId);
        tx.delete(["msg", messageId]);
        tx.delete(["hist", lo, hi, messageId]);
        tx.delete(["inbox", s, messageId]);
        tx.delete(["inbox", r, messageId]);
        tx.delete(["undelivered", r, messageId]);
        if (message.clientMessageId !== null) {
          tx.set(
            ["client_ids", s, message.clientMessageId],
            {
              messageId,
              deleted: true,
            } satisfies ClientIdRecord,
          );
        }
        removeFromConversation(tx, s, r, mine, messageId, replacement, 0);
        const unreadDelta = message.readAt ? 0 : -1;
        removeFromConversation(tx, r, s, theirs, messageId, replacement, unreadDelta);
        return true;
      },
    });
  }

  private async newestOtherThan(prefix: Deno.KvKey, messageId: string): Promise<string | null> {
    for await (const entry of this.kv.list({ prefix }, { reverse: true, limit: 2 })) {
      const id = String(entry.key.at(-1));
      if (id !== messageId) return id;
    }
    return null;
  }

  markDelivered(messageId: string, deliveredAt: string): Promise<ChatMessage | null> {
    const key = ["msg", messageId];
    return this.writes.submit<ChatMessage | null>({
      prefetch: [key],
      run: async (tx) => {
        const stored = await tx.get<ChatMessage>(key);
        if (!stored || stored.deliveredAt) return null;
        const message = { ...stored, deliveredAt, updatedAt: deliveredAt };
        tx.set(key, message);
        tx.delete(["undelivered", message.receiverId, messageId]);
        return message;
      },
    });
  }

  async undelivered(
    receiverId: string,
    query: { limit: number; after?: string },
  ): Promise<ChatMessage[]> {
    const prefix = ["undelivered", receiverId];
    const selector: Deno.KvListSelector = query.after
      ? { prefix, start: [...prefix, query.after + "\0"] }
      : { prefix };
    const ids: string[] = [];
    for await (const entry of this.kv.list(selector, { limit: query.limit })) {
      ids.push(String(entry.key.at(-1)));
    }
    return await this.messagesById(ids);
  }

  async conversations(userId: string, query: PageQuery): Promise<ConversationSummary[]> {
    const rows: { partner: string; lastId: string }[] = [];
    const iter = this.kv.list<string>({ prefix: ["conv_recent", userId] }, {
      reverse: true,
      limit: query.skip + query.limit,
    });
    for await (const entry of iter) {
      rows.push({ partner: entry.value, lastId: String(entry.key[2]) });
    }
    const page = rows.slice(query.skip).map((row) => row.partner);
    // The recency key holds the last message id (written with the row): both reads at once.
    const [states, lasts] = await Promise.all([
      this.writes.readMany<ConversationState>(page.map((partner) => ["conv", userId, partner])),
      this.writes.readMany<ChatMessage>(rows.slice(query.skip).map((row) => ["msg", row.lastId])),
    ]);
    return page.map((partnerId, i) => ({
      partnerId,
      lastMessage: lasts[i] ?? null,
      unreadCount: states[i]?.unreadCount ?? 0,
    }));
  }

  async partnersOf(userId: string): Promise<string[]> {
    const partners: string[] = [];
    for await (const entry of this.kv.list({ prefix: ["conv", userId] })) {
      partners.push(String(entry.key[2]));
    }
    return partners;
  }
}

/** Makes `lastMessageId` the owner's newest conversation row. */
function moveToTop(
  tx: KvTx,
  owner: string,
  partner: string,
  previous: ConversationState | null,
  lastMessageId: string,
  unreadDelta: number,
): void {
  const key = ["conv", owner, partner];
  const unreadCount = Math.max(0, (previous?.unreadCount ?? 0) + unreadDelta);
  // Never happens while ids follow queue order; kept so that a row never moves back in time.
  if (previous?.lastMessageId && previous.lastMessageId > lastMessageId) {
    tx.set(key, { ...previous, unreadCount } satisfies ConversationState);
    return;
  }
  if (previous?.lastMessageId) tx.delete(["conv_recent", owner, previous.lastMessageId]);
  tx.set(["conv_recent", owner, lastMessageId], partner);
  tx.set(key, { lastMessageId, unreadCount } satisfies ConversationState);
}

function removeFromConversation(
  tx: KvTx,
  owner: string,
  partner: string,
  state: ConversationState | null,
  messageId: string,
  replacement: string | null,
  unreadDelta: number,
): void {
  if (!state) return;
  const key = ["conv", owner, partner];
  const unreadCount = Math.max(0, state.unreadCount + unreadDelta);
  if (state.lastMessageId !== messageId) {
    tx.set(key, { ...state, unreadCount });
    return;
  }
  tx.delete(["conv_recent", owner, messageId]);
  if (replacement === null) {
    tx.delete(key);
    return;
  }
  tx.set(["conv_recent", owner, replacement], partner);
  tx.set(key, { lastMessageId: replacement, unreadCount });
}

/** One conversation in the my-chats merge: its next message id and the older ones read so far. */
interface MergeHead {
  id: string;
  prefix: Deno.KvKey;
  older: string[];
  exhausted: boolean;
}

/** A binary max-heap of merge heads by message id (ids sort by time). */
class MaxHeap {
  private readonly items: MergeHead[] = [];

  push(item: MergeHead): void {
    const a = this.items;
    a.push(item);
    for (let i = a.length - 1; i > 0;) {
      const parent = (i - 1) >> 1;
      if (a[parent]!.id >= a[i]!.id) break;
      [a[parent], a[i]] = [a[i]!, a[parent]!];
      i = parent;
    }
  }

  pop(): MergeHead | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      for (let i = 0;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let max = i;
        if (l < a.length && a[l]!.id > a[max]!.id) max = l;
        if (r < a.length && a[r]!.id > a[max]!.id) max = r;
        if (max === i) break;
        [a[max], a[i]] = [a[i]!, a[max]!];
        i = max;
      }
    }
    return top;
  }
}
