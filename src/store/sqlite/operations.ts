/**
 * Everything the SQLite backend does to its database, as named operations
 * that run inside the database worker (worker.ts) against its connection.
 * `writes` run in the writer's group-commit transactions, each in a savepoint
 * of its own; `reads` run on the reader's connection. Arguments and results
 * cross the worker boundary, so they are plain data.
 *
 * A write that refuses (an AppError) changes nothing: its savepoint is rolled
 * back and the writes it was batched with still commit.
 */
import { AppError } from "../../errors.ts";
import type { ChatMessage, Reaction } from "../../protocol/types.ts";
import type { StoredSubscription } from "../subscription_store.ts";
import { quotaExceeded, type UploadRecord, type UploadReference } from "../upload_store.ts";
import { conversationKey } from "../conversation_key.ts";
import { withReaction } from "../../protocol/reactions.ts";
import {
  type BlockEntry,
  type ConversationSummary,
  type DeliveryReceipt,
  type EditResult,
  type HideResult,
  type InsertResult,
  MAX_REACTION_EMOJI,
  type NewReport,
  type ReactionResult,
  type Report,
  type ReportResult,
  type User,
} from "../repository.ts";
import type { Row, Sql } from "./sql.ts";
import { outboxReads, outboxWrites } from "./outbox_operations.ts";
import { erasureReads, erasureWrites } from "./erasure_operations.ts";
import { groupReads, groupWrites } from "./group_operations.ts";
import { searchIndex, userOwner } from "./search_index.ts";
import {
  AFTER_EVERY_ID,
  insertMessageRow,
  isParticipant,
  messageById,
  type MessageRow,
  repeatOf,
  toMessage,
  VISIBLE_TO,
} from "./message_rows.ts";

// ---- rows ----------------------------------------------------------------

export function toReport(row: Row): Report {
  return {
    _id: row.id as string,
    messageId: row.message_id as string,
    reporterId: row.reporter_id as string,
    reportedUserId: row.reported_user_id as string,
    reason: row.reason as Report["reason"],
    note: row.note as string | null,
    text: row.text as string | null,
    file: row.file === null ? null : JSON.parse(row.file as string),
    createdAt: row.created_at as string,
  };
}

function toUser(row: Row): User {
  return {
    _id: row.id as string,
    username: row.username as string | null,
    email: row.email as string | null,
    isOnline: row.is_online === 1,
    lastSeen: row.last_seen as string | null,
    createdAt: row.created_at as string,
    updatedAt: row.updated_at as string,
  };
}

export function toUpload(row: Row): UploadRecord {
  return {
    _id: row.id as string,
    ownerId: row.owner_id as string,
    name: row.name as string,
    mime: row.mime as string,
    kind: row.kind as UploadRecord["kind"],
    size: row.size as number,
    createdAt: row.created_at as string,
    sent: row.sent === 1,
  };
}

function toSubscription(row: Row): StoredSubscription {
  return {
    endpoint: row.endpoint as string,
    keys: { p256dh: row.p256dh as string, auth: row.auth as string },
    userId: row.user_id as string,
    createdAt: row.created_at as string,
    expirationTime: row.expiration_time as number | null,
  };
}

/** Both directions of a pair name one conversation: the two ids, sorted, as JSON. */
function directKey(userA: string, userB: string): string {
  return JSON.stringify(conversationKey(userA, userB));
}

function directConversationId(sql: Sql, userA: string, userB: string): number | null {
  const row = sql.get<{ id: number }>(
    "SELECT id FROM conversations WHERE direct_key = ?",
    directKey(userA, userB),
  );
  return row?.id ?? null;
}

/**
 * Direct conversations' ids by key, as the writer created or found them. The
 * writer is the only one that creates conversations and none is ever deleted,
 * so an entry stays true, unless the transaction that created it rolled back:
 * the worker then calls `forgetConversationIds`.
 */
const conversationIds = new Map<string, number>();
const MAX_CACHED_CONVERSATIONS = 100_000;

export function forgetConversationIds(): void {
  conversationIds.clear();
}

/** The direct conversation of the pair, created on its first message. */
function directConversationFor(sql: Sql, m: ChatMessage): number {
  // A 1:1 message: its receiver is there (ChatMessage.receiverId is null on group messages only).
  const receiverId = m.receiverId!;
  const key = directKey(m.senderId, receiverId);
  let id = conversationIds.get(key);
  if (id !== undefined) return id;
  id = directConversationId(sql, m.senderId, receiverId) ?? sql.get<{ id: number }>(
    "INSERT INTO conversations (kind, direct_key, created_at) VALUES ('direct', ?, ?) RETURNING id",
    key,
    m.createdAt,
  )!.id;
  if (conversationIds.size >= MAX_CACHED_CONVERSATIONS) conversationIds.clear();
  conversationIds.set(key, id);
  return id;
}

function isHiddenFor(sql: Sql, messageId: string, userId: string): boolean {
  return sql.get(
    "SELECT 1 FROM hidden_messages WHERE message_id = ? AND user_id = ?",
    messageId,
    userId,
  ) !== undefined;
}

/**
 * Points the member's conversation row at their newest message they have not
 * hidden, if it points at `formerLast` (null: the conversation leaves their list).
 */
function moveLastMessage(sql: Sql, conversation: number, userId: string, formerLast: string): void {
  const newest = sql.get<{ id: string }>(
    `SELECT id FROM messages m WHERE conversation_id = ?1 AND ${VISIBLE_TO("?2")}
     ORDER BY id DESC LIMIT 1`,
    conversation,
    userId,
  );
  sql.run(
    `UPDATE conversation_members SET last_message_id = ?
     WHERE conversation_id = ? AND user_id = ? AND last_message_id = ?`,
    newest?.id ?? null,
    conversation,
    userId,
    formerLast,
  );
}

function takeOffUnread(sql: Sql, conversation: number, userId: string): void {
  sql.run(
    `UPDATE conversation_members SET unread_count = max(0, unread_count - 1)
     WHERE conversation_id = ? AND user_id = ?`,
    conversation,
    userId,
  );
}

// ---- writes --------------------------------------------------------------

export const writes = {
  ...outboxWrites,
  ...erasureWrites,
  ...groupWrites,
  upsertProfile(sql: Sql, a: { userId: string; username?: string; email?: string }): User {
    const now = new Date().toISOString();
    return toUser(
      sql.get(
        `INSERT INTO users (id, username, email, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?4)
         ON CONFLICT (id) DO UPDATE SET
           username = coalesce(?2, username), email = coalesce(?3, email), updated_at = ?4
         RETURNING *`,
        a.userId,
        a.username ?? null,
        a.email ?? null,
        now,
      )!,
    );
  },

  /** Online creates the user on first sight; offline only updates (an erased user stays gone). */
  setPresence(sql: Sql, a: { userId: string; isOnline: boolean; lastSeen: string }): void {
    const args = [a.userId, a.isOnline ? 1 : 0, a.lastSeen, new Date().toISOString()] as const;
    if (!a.isOnline) {
      sql.run(
        "UPDATE users SET is_online = ?2, last_seen = ?3, updated_at = ?4 WHERE id = ?1",
        ...args,
      );
      return;
    }
    sql.run(
      `INSERT INTO users (id, is_online, last_seen, created_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?4)
       ON CONFLICT (id) DO UPDATE SET is_online = ?2, last_seen = ?3, updated_at = ?4`,
      ...args,
    );
  },

  /** `lastSeen` moves up to the given time, never back (ISO times of one format sort as text). */
  markAllOffline(sql: Sql, a: { lastSeen: string }): number {
    return sql.run(
      `UPDATE users SET is_online = 0, updated_at = ?2,
         last_seen = CASE WHEN last_seen > ?1 THEN last_seen ELSE ?1 END
       WHERE is_online = 1`,
      a.lastSeen,
      new Date().toISOString(),
    );
  },

  insertMessage(sql: Sql, { message: m }: { message: ChatMessage }): InsertResult {
    const repeat = repeatOf(sql, m);
    if (repeat) return repeat;
    const conversation = directConversationFor(sql, m);
    insertMessageRow(sql, m, conversation);
    const touch = `INSERT INTO conversation_members
        (conversation_id, user_id, partner_id, last_message_id, unread_count)
      VALUES (?1, ?2, ?3, ?4, ?5)
      ON CONFLICT (conversation_id, user_id) DO UPDATE SET
        last_message_id = max(coalesce(last_message_id, ''), ?4),
        unread_count = unread_count + ?5`;
    sql.run(touch, conversation, m.senderId, m.receiverId, m._id, 0);
    sql.run(touch, conversation, m.receiverId, m.senderId, m._id, 1);
    return { message: m, duplicate: false };
  },

  markRead(sql: Sql, a: { messageId: string; readAt: string }): ChatMessage | null {
    const row = sql.get<MessageRow>(
      `UPDATE messages SET read_at = ?2, delivered_at = coalesce(delivered_at, ?2), updated_at = ?2
       WHERE id = ?1 AND read_at IS NULL RETURNING *`,
      a.messageId,
      a.readAt,
    );
    if (!row) return null;
    // Hiding it for the receiver took it off their count already.
    if (!isHiddenFor(sql, row.id, row.receiver_id!)) {
      takeOffUnread(sql, row.conversation_id, row.receiver_id!);
    }
    return toMessage(row);
  },

  markDelivered(sql: Sql, a: { messageId: string; deliveredAt: string }): DeliveryReceipt | null {
    const row = sql.get<Pick<MessageRow, "sender_id" | "receiver_id">>(
      `UPDATE messages SET delivered_at = ?2, updated_at = ?2
       WHERE id = ?1 AND delivered_at IS NULL RETURNING sender_id, receiver_id`,
      a.messageId,
      a.deliveredAt,
    );
    return row
      ? { senderId: row.sender_id, receiverId: row.receiver_id, deliveredAt: a.deliveredAt }
      : null;
  },

  deleteMessage(sql: Sql, a: { messageId: string }): boolean {
    const row = messageById(sql, a.messageId);
    if (!row) return false;
    sql.run("DELETE FROM messages WHERE id = ?", row.id);
    if (row.client_message_id !== null) {
      sql.run(
        "INSERT OR REPLACE INTO deleted_client_ids VALUES (?, ?, ?, ?)",
        row.sender_id,
        row.client_message_id,
        row.id,
        new Date().toISOString(),
      );
    }
    for (const member of [row.sender_id, row.receiver_id!]) {
      moveLastMessage(sql, row.conversation_id, member, row.id);
    }
    if (row.read_at === null && !isHiddenFor(sql, row.id, row.receiver_id!)) {
      takeOffUnread(sql, row.conversation_id, row.receiver_id!);
    }
    sql.run("DELETE FROM hidden_messages WHERE message_id = ?", row.id);
    // Replies keep the quoted message's id only.
    sql.run(
      "UPDATE messages SET reply_to = ?1 WHERE reply_to_id = ?2",
      JSON.stringify({ _id: row.id, deleted: true }),
      row.id,
    );
    return true;
  },

  editMessage(
    sql: Sql,
    a: {
      messageId: string;
      senderId: string;
      text: string;
      editedAt: string;
      createdAfter?: string;
    },
  ): EditResult {
    const row = messageById(sql, a.messageId);
    if (!row) return { ok: false, reason: "not_found" };
    if (row.sender_id !== a.senderId) return { ok: false, reason: "not_sender" };
    if (a.createdAfter !== undefined && row.created_at < a.createdAfter) {
      return { ok: false, reason: "too_late" };
    }
    const edited = sql.get<MessageRow>(
      "UPDATE messages SET text = ?2, edited_at = ?3, updated_at = ?3 WHERE id = ?1 RETURNING *",
      row.id,
      a.text,
      a.editedAt,
    )!;
    return { ok: true, message: toMessage(edited) };
  },

  react(
    sql: Sql,
    a: { messageId: string; userId: string; emoji: string; add: boolean },
  ): ReactionResult {
    const row = messageById(sql, a.messageId);
    if (!row) return { ok: false, reason: "not_found" };
    if (!isParticipant(sql, row, a.userId)) return { ok: false, reason: "not_participant" };
    const current: Reaction[] = row.reactions === null ? [] : JSON.parse(row.reactions);
    const next = withReaction(current, a.userId, a.emoji, a.add);
    if (next === null) return { ok: true, changed: false, message: toMessage(row) };
    if (next.length > MAX_REACTION_EMOJI) return { ok: false, reason: "too_many_emoji" };
    const updated = sql.get<MessageRow>(
      "UPDATE messages SET reactions = ?2 WHERE id = ?1 RETURNING *",
      row.id,
      next.length === 0 ? null : JSON.stringify(next),
    )!;
    return { ok: true, changed: true, message: toMessage(updated) };
  },

  hideForUser(sql: Sql, a: { messageId: string; userId: string; hiddenAt: string }): HideResult {
    const row = messageById(sql, a.messageId);
    if (!row) return { ok: false, reason: "not_found" };
    if (!isParticipant(sql, row, a.userId)) return { ok: false, reason: "not_participant" };
    const hidden = sql.run(
      "INSERT OR IGNORE INTO hidden_messages VALUES (?, ?, ?)",
      row.id,
      a.userId,
      a.hiddenAt,
    );
    if (hidden === 0) return { ok: true, changed: false, message: toMessage(row) };
    moveLastMessage(sql, row.conversation_id, a.userId, row.id);
    if (a.userId === row.receiver_id && row.read_at === null) {
      takeOffUnread(sql, row.conversation_id, a.userId);
    }
    return { ok: true, changed: true, message: toMessage(row) };
  },

  block(sql: Sql, a: { blockerId: string; blockedId: string; blockedAt: string }): boolean {
    return sql.run(
      "INSERT OR IGNORE INTO blocks VALUES (?, ?, ?)",
      a.blockerId,
      a.blockedId,
      a.blockedAt,
    ) > 0;
  },

  unblock(sql: Sql, a: { blockerId: string; blockedId: string }): boolean {
    return sql.run(
      "DELETE FROM blocks WHERE blocker_id = ? AND blocked_id = ?",
      a.blockerId,
      a.blockedId,
    ) > 0;
  },

  /** The message's content is copied as stored (sealed, with encryption at rest). */
  report(sql: Sql, a: { id: string; input: NewReport }): ReportResult {
    const r = a.input;
    const existing = sql.get(
      "SELECT * FROM reports WHERE reporter_id = ? AND message_id = ?",
      r.reporterId,
      r.messageId,
    );
    if (existing) return { ok: true, created: false, report: toReport(existing) };
    const row = messageById(sql, r.messageId);
    if (!row) return { ok: false, reason: "not_found" };
    if (row.receiver_id !== r.reporterId) return { ok: false, reason: "not_receiver" };
    const report = sql.get(
      `INSERT INTO reports VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
      a.id,
      r.messageId,
      r.reporterId,
      row.sender_id,
      r.reason,
      r.note,
      row.text,
      row.file,
      r.createdAt,
    )!;
    return { ok: true, created: true, report: toReport(report) };
  },

  mute(sql: Sql, a: { userId: string; partnerId: string; until: string | null }): void {
    sql.run("INSERT OR REPLACE INTO mutes VALUES (?, ?, ?)", a.userId, a.partnerId, a.until);
  },

  unmute(sql: Sql, a: { userId: string; partnerId: string }): boolean {
    return sql.run(
      "DELETE FROM mutes WHERE user_id = ? AND partner_id = ?",
      a.userId,
      a.partnerId,
    ) > 0;
  },

  /** Adds the record and its bytes to the owner's usage, if that stays within the quota. */
  createUpload(sql: Sql, a: { record: UploadRecord; quotaBytes: number }): void {
    const r = a.record;
    if (sql.get("SELECT 1 FROM uploads WHERE id = ?", r._id)) {
      throw new AppError("INTERNAL_ERROR", `upload id ${r._id} already exists`);
    }
    const used = sql.get<{ bytes: number }>(
      "SELECT bytes FROM upload_usage WHERE owner_id = ?",
      r.ownerId,
    )?.bytes ?? 0;
    if (used + r.size > a.quotaBytes) throw quotaExceeded(a.quotaBytes);
    sql.run(
      "INSERT INTO uploads VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
      r._id,
      r.ownerId,
      r.name,
      r.mime,
      r.kind,
      r.size,
      r.createdAt,
      r.sent ? 1 : 0,
    );
    sql.run(
      `INSERT INTO upload_usage VALUES (?, ?)
       ON CONFLICT (owner_id) DO UPDATE SET bytes = bytes + excluded.bytes`,
      r.ownerId,
      r.size,
    );
  },

  attachUpload(sql: Sql, a: { id: string; reference: UploadReference }): boolean {
    if (sql.run("UPDATE uploads SET sent = 1 WHERE id = ?", a.id) === 0) return false;
    sql.run(
      "INSERT OR IGNORE INTO upload_refs VALUES (?, ?, ?)",
      a.id,
      a.reference.messageId,
      a.reference.receiverId,
    );
    return true;
  },

  /** Resolves with how many messages still carry the upload. */
  detachUpload(sql: Sql, a: { id: string; reference: UploadReference }): number {
    sql.run(
      "DELETE FROM upload_refs WHERE upload_id = ? AND message_id = ?",
      a.id,
      a.reference.messageId,
    );
    return sql.get<{ n: number }>(
      "SELECT count(*) AS n FROM upload_refs WHERE upload_id = ?",
      a.id,
    )!
      .n;
  },

  /** Removes the record (its bytes go back to the owner's usage); the caller removes the file. */
  deleteUploadIfUnreferenced(sql: Sql, a: { id: string }): boolean {
    const row = sql.get<{ owner_id: string; size: number }>(
      "SELECT owner_id, size FROM uploads WHERE id = ?",
      a.id,
    );
    if (!row) return false;
    if (sql.get("SELECT 1 FROM upload_refs WHERE upload_id = ? LIMIT 1", a.id)) return false;
    sql.run("DELETE FROM uploads WHERE id = ?", a.id);
    sql.run(
      "UPDATE upload_usage SET bytes = bytes - ? WHERE owner_id = ?",
      row.size,
      row.owner_id,
    );
    return true;
  },

  /** Stores (or moves to its new owner) the endpoint; the owner keeps the newest `keep`. */
  saveSubscription(
    sql: Sql,
    a: { endpointId: string; subscription: StoredSubscription; keep: number },
  ): void {
    const s = a.subscription;
    sql.run(
      `INSERT OR REPLACE INTO push_subscriptions VALUES (?, ?, ?, ?, ?, ?, ?)`,
      a.endpointId,
      s.endpoint,
      s.userId,
      s.keys.p256dh,
      s.keys.auth,
      s.createdAt,
      s.expirationTime,
    );
    sql.run(
      `DELETE FROM push_subscriptions WHERE user_id = ?1 AND endpoint_id NOT IN (
         SELECT endpoint_id FROM push_subscriptions WHERE user_id = ?1
         ORDER BY created_at DESC LIMIT ?2)`,
      s.userId,
      a.keep,
    );
  },

  removeSubscription(sql: Sql, a: { endpointId: string; userId?: string }): boolean {
    return sql.run(
      "DELETE FROM push_subscriptions WHERE endpoint_id = ?1 AND (?2 IS NULL OR user_id = ?2)",
      a.endpointId,
      a.userId ?? null,
    ) > 0;
  },
};

// ---- reads ---------------------------------------------------------------

export const reads = {
  ...outboxReads,
  ...erasureReads,
  ...groupReads,
  ping(sql: Sql): void {
    sql.get("SELECT 1");
  },

  getUsers(sql: Sql, a: { userIds: readonly string[] }): User[] {
    return sql.all(
      "SELECT * FROM users WHERE id IN (SELECT value FROM json_each(?))",
      JSON.stringify(a.userIds),
    )
      .map(toUser);
  },

  getMessage(sql: Sql, a: { messageId: string }): ChatMessage | null {
    const row = messageById(sql, a.messageId);
    return row ? toMessage(row) : null;
  },

  /** Newest first, `skip` then `limit`, older than `before`. */
  history(
    sql: Sql,
    a: {
      userA: string;
      userB: string;
      limit: number;
      skip: number;
      before?: string;
      viewerId?: string;
    },
  ): ChatMessage[] {
    const conversation = directConversationId(sql, a.userA, a.userB);
    if (conversation === null) return [];
    return sql.all<MessageRow>(
      `SELECT * FROM messages m WHERE conversation_id = ?1 AND id < ?2
         AND (?5 IS NULL OR ${VISIBLE_TO("?5")})
       ORDER BY id DESC LIMIT ?3 OFFSET ?4`,
      conversation,
      a.before ?? AFTER_EVERY_ID,
      a.limit,
      a.skip,
      a.viewerId ?? null,
    ).map(toMessage);
  },

  /**
   * Newest first across the user's conversations. The newest n messages of a
   * user lie in their n most recent conversations; going through those in
   * recency order, one whose last message is older than the n-th found so far
   * cannot add any, and neither can the ones after it.
   */
  listForUser(sql: Sql, a: { userId: string; limit: number; skip: number }): ChatMessage[] {
    const wanted = a.skip + a.limit;
    const conversations = sql.all<{ conversation_id: number; last_message_id: string }>(
      `SELECT conversation_id, last_message_id FROM conversation_members
       WHERE user_id = ? AND last_message_id IS NOT NULL
       ORDER BY last_message_id DESC LIMIT ?`,
      a.userId,
      wanted,
    );
    let newest: MessageRow[] = [];
    for (const conversation of conversations) {
      const floor = newest.length >= wanted ? newest[wanted - 1]!.id : "";
      if (conversation.last_message_id <= floor) break;
      const rows = sql.all<MessageRow>(
        `SELECT * FROM messages m WHERE conversation_id = ?1 AND id > ?2 AND ${VISIBLE_TO("?4")}
         ORDER BY id DESC LIMIT ?3`,
        conversation.conversation_id,
        floor,
        wanted,
        a.userId,
      );
      newest = newest.concat(rows).sort((x, y) => (x.id < y.id ? 1 : -1)).slice(0, wanted);
    }
    return newest.slice(a.skip).map(toMessage);
  },

  undelivered(sql: Sql, a: { receiverId: string; limit: number; after?: string }): ChatMessage[] {
    return sql.all<MessageRow>(
      `SELECT * FROM messages m WHERE receiver_id = ?1 AND delivered_at IS NULL AND id > ?2
         AND ${VISIBLE_TO("?1")}
       ORDER BY id LIMIT ?3`,
      a.receiverId,
      a.after ?? "",
      a.limit,
    ).map(toMessage);
  },

  conversations(
    sql: Sql,
    a: { userId: string; limit: number; skip: number },
  ): ConversationSummary[] {
    type ConversationRow = MessageRow & {
      partner_id: string;
      unread_count: number;
      muted: number;
      muted_until: string | null;
    };
    return sql.all<ConversationRow>(
      `SELECT m.*, c.partner_id, c.unread_count,
         mu.user_id IS NOT NULL AND (mu.until IS NULL OR mu.until > ?4) AS muted,
         iif(mu.until > ?4, mu.until, NULL) AS muted_until
       FROM conversation_members c JOIN messages m ON m.id = c.last_message_id
       LEFT JOIN mutes mu ON mu.user_id = c.user_id AND mu.partner_id = c.partner_id
       WHERE c.user_id = ?1 AND c.last_message_id IS NOT NULL
       ORDER BY c.last_message_id DESC LIMIT ?2 OFFSET ?3`,
      a.userId,
      a.limit,
      a.skip,
      new Date().toISOString(),
    ).map((row) => ({
      partnerId: row.partner_id,
      lastMessage: toMessage(row),
      unreadCount: row.unread_count,
      muted: row.muted === 1,
      mutedUntil: row.muted_until,
    }));
  },

  partnersOf(sql: Sql, a: { userId: string }): string[] {
    return sql.all<{ partner_id: string }>(
      `SELECT partner_id FROM conversation_members
       WHERE user_id = ? AND partner_id IS NOT NULL AND last_message_id IS NOT NULL`,
      a.userId,
    ).map((row) => row.partner_id);
  },

  /** The user's 1:1 messages (with the partner's keys too for `with`), newest first. */
  search(
    sql: Sql,
    a: { userId: string; q: string; with?: string; limit: number; before?: string },
  ): ChatMessage[] {
    const search = {
      q: a.q,
      owners: [userOwner(a.userId)],
      viewerId: a.userId,
      limit: a.limit,
      before: a.before,
    };
    if (a.with === undefined) return searchIndex(sql, search);
    const conversationId = directConversationId(sql, a.userId, a.with);
    if (conversationId === null) return [];
    return searchIndex(sql, { ...search, alsoOwner: userOwner(a.with), conversationId });
  },

  listBlocked(sql: Sql, a: { blockerId: string }): BlockEntry[] {
    return sql.all<{ blocked_id: string; blocked_at: string }>(
      "SELECT blocked_id, blocked_at FROM blocks WHERE blocker_id = ? ORDER BY blocked_at DESC, blocked_id",
      a.blockerId,
    ).map((row) => ({ userId: row.blocked_id, blockedAt: row.blocked_at }));
  },

  isBlocked(sql: Sql, a: { userA: string; userB: string }): boolean {
    return sql.get(
      `SELECT 1 FROM blocks WHERE (blocker_id = ?1 AND blocked_id = ?2)
         OR (blocker_id = ?2 AND blocked_id = ?1)`,
      a.userA,
      a.userB,
    ) !== undefined;
  },

  blockedEitherWay(sql: Sql, a: { userId: string }): string[] {
    return sql.all<{ id: string }>(
      `SELECT blocked_id AS id FROM blocks WHERE blocker_id = ?1
       UNION SELECT blocker_id FROM blocks WHERE blocked_id = ?1`,
      a.userId,
    ).map((row) => row.id);
  },

  listReports(sql: Sql, a: { limit: number; before?: string }): Report[] {
    return sql.all(
      "SELECT * FROM reports WHERE id < ? ORDER BY id DESC LIMIT ?",
      a.before ?? AFTER_EVERY_ID,
      a.limit,
    )
      .map(toReport);
  },

  isMuted(sql: Sql, a: { userId: string; partnerId: string; at: string }): boolean {
    return sql.get(
      `SELECT 1 FROM mutes WHERE user_id = ? AND partner_id = ? AND (until IS NULL OR until > ?)`,
      a.userId,
      a.partnerId,
      a.at,
    ) !== undefined;
  },

  getUpload(sql: Sql, a: { id: string }): UploadRecord | null {
    const row = sql.get("SELECT * FROM uploads WHERE id = ?", a.id);
    return row ? toUpload(row) : null;
  },

  uploadReferences(sql: Sql, a: { id: string }): UploadReference[] {
    return sql.all<{ message_id: string; receiver_id: string }>(
      "SELECT message_id, receiver_id FROM upload_refs WHERE upload_id = ?",
      a.id,
    ).map((row) => ({ messageId: row.message_id, receiverId: row.receiver_id }));
  },

  uploadUsage(sql: Sql, a: { ownerId: string }): number {
    return sql.get<{ bytes: number }>(
      "SELECT bytes FROM upload_usage WHERE owner_id = ?",
      a.ownerId,
    )?.bytes ?? 0;
  },

  unsentUploadsBefore(sql: Sql, a: { before: string; limit: number }): string[] {
    return sql.all<{ id: string }>(
      "SELECT id FROM uploads WHERE sent = 0 AND created_at < ? ORDER BY created_at LIMIT ?",
      a.before,
      a.limit,
    ).map((row) => row.id);
  },

  listSubscriptions(sql: Sql, a: { userId: string; limit: number }): StoredSubscription[] {
    return sql.all("SELECT * FROM push_subscriptions WHERE user_id = ? LIMIT ?", a.userId, a.limit)
      .map(toSubscription);
  },
};

export type Writes = typeof writes;
export type Reads = typeof reads;
export type WriteName = keyof Writes;

/**
 * Writes that never refuse (throw no AppError): the worker runs them without a
 * savepoint of their own (about 2 µs each), since anything they throw is the
 * database failing, which fails the whole batch anyway. The receipt is one per
 * message delivered.
 */
export const writesThatNeverRefuse: ReadonlySet<WriteName> = new Set<WriteName>([
  "markDelivered",
  "setPresence",
]);
export type ReadName = keyof Reads;
/** The argument of an operation (none for `ping`). */
export type ArgsOf<F> = F extends (sql: Sql, args: infer A) => unknown ? A : undefined;
