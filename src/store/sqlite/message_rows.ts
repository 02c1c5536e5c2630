/**
 * Message rows as both the 1:1 operations (operations.ts) and the group ones
 * (group_operations.ts) read and check them: one mapping to `ChatMessage`,
 * one idempotency check, one check of a quoted message.
 */
import { AppError } from "../../errors.ts";
import type { ChatMessage, QuotedMessage } from "../../protocol/types.ts";
import type { InsertResult } from "../repository.ts";
import type { Sql } from "./sql.ts";

/** Greater than every message id (ids are ASCII letters and digits). */
export const AFTER_EVERY_ID = "~";

export interface MessageRow {
  id: string;
  conversation_id: number;
  sender_id: string;
  receiver_id: string | null;
  group_id: string | null;
  text: string | null;
  file: string | null;
  client_message_id: string | null;
  created_at: string;
  updated_at: string;
  delivered_at: string | null;
  read_at: string | null;
  edited_at: string | null;
  reactions: string | null;
  reply_to: string | null;
  reply_to_id: string | null;
}

export function toMessage(row: MessageRow): ChatMessage {
  return {
    _id: row.id,
    senderId: row.sender_id,
    // Null on a group message (groupId set instead).
    receiverId: row.receiver_id!,
    groupId: row.group_id,
    text: row.text,
    file: row.file === null ? null : JSON.parse(row.file),
    clientMessageId: row.client_message_id,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    deliveredAt: row.delivered_at,
    readAt: row.read_at,
    editedAt: row.edited_at,
    reactions: row.reactions === null ? [] : JSON.parse(row.reactions),
    replyTo: row.reply_to === null ? null : JSON.parse(row.reply_to),
  };
}

const MESSAGE_BY_ID = "SELECT * FROM messages WHERE id = ?";

export function messageById(sql: Sql, id: string): MessageRow | undefined {
  return sql.get<MessageRow>(MESSAGE_BY_ID, id);
}

/** A message the user deleted for themselves is left out of what they read. */
export const VISIBLE_TO = (user: string) =>
  `NOT EXISTS (SELECT 1 FROM hidden_messages h WHERE h.message_id = m.id AND h.user_id = ${user})`;

/**
 * The stored original of a resend (same sender and client id), or null when
 * the message is new; throws DELETED when the original was deleted.
 */
export function repeatOf(sql: Sql, m: ChatMessage): InsertResult | null {
  if (m.clientMessageId === null) return null;
  const deleted = sql.get(
    "SELECT 1 FROM deleted_client_ids WHERE sender_id = ? AND client_message_id = ?",
    m.senderId,
    m.clientMessageId,
  );
  if (deleted) throw new AppError("DELETED", "This message was deleted");
  const original = sql.get<MessageRow>(
    "SELECT * FROM messages WHERE sender_id = ? AND client_message_id = ?",
    m.senderId,
    m.clientMessageId,
  );
  return original ? { message: toMessage(original), duplicate: true } : null;
}

/** A reply quotes a message of its own conversation, else VALIDATION_ERROR. */
export function checkQuoted(sql: Sql, quoted: QuotedMessage | null, conversation: number): void {
  if (quoted === null) return;
  const row = sql.get<{ conversation_id: number }>(
    "SELECT conversation_id FROM messages WHERE id = ?",
    quoted._id,
  );
  if (row?.conversation_id !== conversation) {
    throw new AppError("VALIDATION_ERROR", "replyTo: no such message in this conversation");
  }
}

/**
 * Stores a new message (1:1, or group when `groupId` is set) in its conversation,
 * after checking its quote; the caller has checked that it is no repeat.
 */
export function insertMessageRow(sql: Sql, m: ChatMessage, conversation: number): void {
  const quoted = m.replyTo as QuotedMessage | null;
  checkQuoted(sql, quoted, conversation);
  sql.run(
    `INSERT INTO messages (id, conversation_id, sender_id, receiver_id, group_id, text, file,
       client_message_id, created_at, updated_at, reply_to, reply_to_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    m._id,
    conversation,
    m.senderId,
    m.receiverId,
    m.groupId ?? null,
    m.text,
    m.file === null ? null : JSON.stringify(m.file),
    m.clientMessageId,
    m.createdAt,
    m.updatedAt,
    quoted === null ? null : JSON.stringify(quoted),
    quoted?._id ?? null,
  );
}

/**
 * The search cursor: index rows below this rowid are older than `before` (rowids
 * follow ids); null when no message is older; every row without a cursor.
 */
export function rowidBelow(sql: Sql, before: string | undefined): number | null {
  if (before === undefined) return Number.MAX_SAFE_INTEGER;
  const cursor = sql.get<{ rowid: number }>(
    "SELECT rowid FROM messages WHERE id < ? ORDER BY id DESC LIMIT 1",
    before,
  );
  return cursor ? cursor.rowid + 1 : null;
}

/** The message's sender or receiver, or a member of its group: who may react to it or hide it. */
export function isParticipant(sql: Sql, row: MessageRow, userId: string): boolean {
  if (userId === row.sender_id || userId === row.receiver_id) return true;
  return row.group_id !== null && sql.get(
        `SELECT 1 FROM conversation_members
         WHERE conversation_id = ? AND user_id = ? AND joined_seq IS NOT NULL`,
        row.conversation_id,
        userId,
      ) !== undefined;
}
