/**
 * The embedded backend: one Deno KV database (a local file, or `:memory:`).
 *
 * Key layout (every index is updated in the same atomic commit as the message):
 *   ["users", userId]                     → User
 *   ["msg", messageId]                    → ChatMessage
 *   ["hist", lowUser, highUser, msgId]    → 1   conversation history, by time
 *   ["inbox", userId, msgId]              → 1   my-chats, by time
 *   ["undelivered", receiverId, msgId]    → 1   offline catch-up, oldest first
 *   ["conv", owner, partner]              → ConversationState
 *   ["conv_recent", owner, lastMsgId]     → partner   conversations, newest first
 *   ["client_ids", senderId, clientId]    → ClientIdRecord   idempotent send
 * Message ids are monotonic ULIDs, so key order is arrival order.
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

interface ConversationState {
  lastMessageId: string | null;
  unreadCount: number;
}

interface ClientIdRecord {
  messageId: string;
  deleted: boolean;
}

/** Deno KV's getMany reads at most 10 keys per call. */
const GET_MANY_LIMIT = 10;
/** Optimistic commits retry on conflict; more than this means something is wrong. */
const MAX_ATTEMPTS = 50;

export async function openKvStore(path: string): Promise<ChatStore> {
  if (path !== ":memory:") await Deno.mkdir(dirname(path), { recursive: true });
  const kv = await Deno.openKv(path);
  return {
    kind: "kv",
    users: new KvUserRepository(kv),
    messages: new KvMessageRepository(kv),
    ping: async () => void await kv.get(["users", ""]),
    close: () => Promise.resolve(kv.close()),
  };
}

async function getAll<T>(kv: Deno.Kv, keys: Deno.KvKey[]): Promise<Deno.KvEntryMaybe<T>[]> {
  const chunks: Deno.KvKey[][] = [];
  for (let i = 0; i < keys.length; i += GET_MANY_LIMIT) {
    chunks.push(keys.slice(i, i + GET_MANY_LIMIT));
  }
  const results = await Promise.all(chunks.map((chunk) => kv.getMany<T[]>(chunk)));
  return results.flat() as Deno.KvEntryMaybe<T>[];
}

/** Runs read-check-commit until the commit wins against concurrent writers. */
async function commitWithRetry<T>(
  attempt: () => Promise<{ op: Deno.AtomicOperation; result: T } | { done: T }>,
): Promise<T> {
  for (let i = 0; i < MAX_ATTEMPTS; i++) {
    const step = await attempt();
    if ("done" in step) return step.done;
    const res = await step.op.commit();
    if (res.ok) return step.result;
  }
  throw new Error("Deno KV commit kept conflicting");
}

class KvUserRepository implements UserRepository {
  constructor(private readonly kv: Deno.Kv) {}

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

  async get(userId: string): Promise<User | null> {
    return (await this.kv.get<User>(["users", userId])).value;
  }

  async getMany(userIds: readonly string[]): Promise<Map<string, User>> {
    const entries = await getAll<User>(this.kv, userIds.map((id) => ["users", id]));
    const users = new Map<string, User>();
    for (const entry of entries) if (entry.value) users.set(entry.value._id, entry.value);
    return users;
  }

  private update(userId: string, change: (user: User) => User): Promise<User> {
    return commitWithRetry(async () => {
      const entry = await this.kv.get<User>(["users", userId]);
      const now = new Date().toISOString();
      const current = entry.value ?? newUser(userId, now);
      const next = { ...change(current), updatedAt: now };
      return { op: this.kv.atomic().check(entry).set(entry.key, next), result: next };
    });
  }
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

  constructor(private readonly kv: Deno.Kv) {}

  insert(input: NewMessage): Promise<InsertResult> {
    const now = new Date();
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

    return commitWithRetry<InsertResult>(async () => {
      if (clientKey) {
        const seen = await this.kv.get<ClientIdRecord>(clientKey);
        if (seen.value) return { done: await this.duplicateOf(seen.value) };
      }
      const [mine, theirs] = await this.kv.getMany<ConversationState[]>([
        ["conv", s, r],
        ["conv", r, s],
      ]);
      const op = this.kv.atomic()
        .check(mine!, theirs!)
        .set(["msg", message._id], message)
        .set(["hist", lo, hi, message._id], 1)
        .set(["inbox", s, message._id], 1)
        .set(["inbox", r, message._id], 1)
        .set(["undelivered", r, message._id], 1);
      if (clientKey) {
        op.check({ key: clientKey, versionstamp: null })
          .set(clientKey, { messageId: message._id, deleted: false } satisfies ClientIdRecord);
      }
      this.moveToTop(op, s, r, mine!, message._id, 0);
      this.moveToTop(op, r, s, theirs!, message._id, 1);
      return { op, result: { message, duplicate: false } };
    });
  }

  private async duplicateOf(record: ClientIdRecord): Promise<InsertResult> {
    if (record.deleted) throw new AppError("DELETED", "This message was deleted");
    const original = await this.get(record.messageId);
    if (!original) throw new AppError("DELETED", "This message was deleted");
    return { message: original, duplicate: true };
  }

  /** Makes `lastMessageId` the owner's newest conversation row. */
  private moveToTop(
    op: Deno.AtomicOperation,
    owner: string,
    partner: string,
    entry: Deno.KvEntryMaybe<ConversationState>,
    lastMessageId: string,
    unreadDelta: number,
  ): void {
    const previous = entry.value;
    const unreadCount = Math.max(0, (previous?.unreadCount ?? 0) + unreadDelta);
    // A retried commit may land after a newer message of the same conversation.
    if (previous?.lastMessageId && previous.lastMessageId > lastMessageId) {
      op.set(entry.key, { ...previous, unreadCount } satisfies ConversationState);
      return;
    }
    if (previous?.lastMessageId) op.delete(["conv_recent", owner, previous.lastMessageId]);
    op.set(["conv_recent", owner, lastMessageId], partner);
    op.set(entry.key, { lastMessageId, unreadCount } satisfies ConversationState);
  }

  async get(messageId: string): Promise<ChatMessage | null> {
    return (await this.kv.get<ChatMessage>(["msg", messageId])).value;
  }

  async history(userA: string, userB: string, query: HistoryQuery): Promise<ChatMessage[]> {
    const prefix = ["hist", ...conversationKey(userA, userB)];
    const selector: Deno.KvListSelector = query.before
      ? { prefix, end: [...prefix, query.before] }
      : { prefix };
    const page = await this.pageOfIds(selector, query);
    return page.reverse();
  }

  listForUser(userId: string, query: PageQuery): Promise<ChatMessage[]> {
    return this.pageOfIds({ prefix: ["inbox", userId] }, query);
  }

  /** Newest first: ids are the last key part, messages are looked up by id. */
  private async pageOfIds(selector: Deno.KvListSelector, query: PageQuery) {
    const ids: string[] = [];
    const iter = this.kv.list(selector, { reverse: true, limit: query.skip + query.limit });
    for await (const entry of iter) ids.push(String(entry.key.at(-1)));
    const keys = ids.slice(query.skip).map((id) => ["msg", id]);
    const entries = await getAll<ChatMessage>(this.kv, keys);
    return entries.flatMap((e) => (e.value ? [e.value] : []));
  }

  markRead(messageId: string, readAt: string): Promise<ChatMessage | null> {
    return commitWithRetry<ChatMessage | null>(async () => {
      const entry = await this.kv.get<ChatMessage>(["msg", messageId]);
      if (!entry.value || entry.value.readAt) return { done: null };
      const deliveredAt = entry.value.deliveredAt ?? readAt;
      const message = { ...entry.value, deliveredAt, readAt, updatedAt: readAt };
      const convKey = ["conv", message.receiverId, message.senderId];
      const conv = await this.kv.get<ConversationState>(convKey);
      const op = this.kv.atomic().check(entry, conv).set(entry.key, message)
        .delete(["undelivered", message.receiverId, messageId]);
      if (conv.value) {
        op.set(convKey, { ...conv.value, unreadCount: Math.max(0, conv.value.unreadCount - 1) });
      }
      return { op, result: message };
    });
  }

  delete(messageId: string): Promise<boolean> {
    return commitWithRetry<boolean>(async () => {
      const entry = await this.kv.get<ChatMessage>(["msg", messageId]);
      const message = entry.value;
      if (!message) return { done: false };
      const { senderId: s, receiverId: r } = message;
      const [lo, hi] = conversationKey(s, r);
      const [mine, theirs] = await this.kv.getMany<ConversationState[]>([
        ["conv", s, r],
        ["conv", r, s],
      ]);
      const op = this.kv.atomic().check(entry, mine!, theirs!)
        .delete(entry.key)
        .delete(["hist", lo, hi, messageId])
        .delete(["inbox", s, messageId])
        .delete(["inbox", r, messageId])
        .delete(["undelivered", r, messageId]);
      if (message.clientMessageId !== null) {
        op.set(["client_ids", s, message.clientMessageId], { messageId, deleted: true });
      }
      const replacement = await this.newestOtherThan(["hist", lo, hi], messageId);
      this.removeFromConversation(op, s, r, mine!, messageId, replacement, 0);
      const unreadDelta = message.readAt ? 0 : -1;
      this.removeFromConversation(op, r, s, theirs!, messageId, replacement, unreadDelta);
      return { op, result: true };
    });
  }

  private async newestOtherThan(prefix: Deno.KvKey, messageId: string): Promise<string | null> {
    for await (const entry of this.kv.list({ prefix }, { reverse: true, limit: 2 })) {
      const id = String(entry.key.at(-1));
      if (id !== messageId) return id;
    }
    return null;
  }

  private removeFromConversation(
    op: Deno.AtomicOperation,
    owner: string,
    partner: string,
    entry: Deno.KvEntryMaybe<ConversationState>,
    messageId: string,
    replacement: string | null,
    unreadDelta: number,
  ): void {
    const state = entry.value;
    if (!state) return;
    const unreadCount = Math.max(0, state.unreadCount + unreadDelta);
    if (state.lastMessageId !== messageId) {
      op.set(entry.key, { ...state, unreadCount });
      return;
    }
    op.delete(["conv_recent", owner, messageId]);
    if (replacement === null) {
      op.delete(entry.key);
      return;
    }
    op.set(["conv_recent", owner, replacement], partner);
    op.set(entry.key, { lastMessageId: replacement, unreadCount });
  }

  markDelivered(messageId: string, deliveredAt: string): Promise<ChatMessage | null> {
    return commitWithRetry<ChatMessage | null>(async () => {
      const entry = await this.kv.get<ChatMessage>(["msg", messageId]);
      if (!entry.value || entry.value.deliveredAt) return { done: null };
      const message = { ...entry.value, deliveredAt, updatedAt: deliveredAt };
      const op = this.kv.atomic().check(entry).set(entry.key, message)
        .delete(["undelivered", message.receiverId, messageId]);
      return { op, result: message };
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
    const entries = await getAll<ChatMessage>(this.kv, ids.map((id) => ["msg", id]));
    return entries.flatMap((e) => (e.value ? [e.value] : []));
  }

  async conversations(userId: string, query: PageQuery): Promise<ConversationSummary[]> {
    const partners: string[] = [];
    const iter = this.kv.list<string>({ prefix: ["conv_recent", userId] }, {
      reverse: true,
      limit: query.skip + query.limit,
    });
    for await (const entry of iter) partners.push(entry.value);
    const page = partners.slice(query.skip);
    const states = await getAll<ConversationState>(
      this.kv,
      page.map((partner) => ["conv", userId, partner]),
    );
    const lastIds = states.map((s) => s.value?.lastMessageId ?? "");
    const lasts = await getAll<ChatMessage>(this.kv, lastIds.map((id) => ["msg", id]));
    return page.map((partnerId, i) => ({
      partnerId,
      lastMessage: lasts[i]?.value ?? null,
      unreadCount: states[i]?.value?.unreadCount ?? 0,
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
