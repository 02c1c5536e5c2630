/**
 * Search on SQLite (schema.ts migration 5): one FTS5 term per owner and word,
 * `<owner>_<word>`, where the owner is `u<hex of user id>` for each
 * participant of a 1:1 message and `c<conversation id>` for a group message.
 * A search for "hello world" by user U is then `u…_hello AND u…_world`: two
 * posting lists as long as U's own messages holding each word, whatever the
 * size of the store. (Migration 2's index held words and owners as separate
 * terms, so a search intersected the posting list of a common word over
 * every user with the user's own: 50–90 ms at p99 over 1,000,000 messages.)
 *
 * The index stores row ids only (`detail = none`, contentless): a message's
 * rowid, which follows id order, so newest first is rowid descending. The
 * terms are made by {@linkcode searchKeysOf}, a SQL function the writer's
 * connection registers ({@linkcode registerSearchKeys}) and the triggers call,
 * with the same {@linkcode searchWords} a query is split with: the index and
 * the query fold text the same way by construction (a connection without it,
 * such as an operator's `sqlite3`, can delete messages but not insert or edit
 * them: "no such function"). The `ascii` tokenizer with `_` kept then leaves
 * each term whole (words are letters, digits and marks only; ASCII ones
 * already lower-cased).
 *
 * Hidden messages stay in the index and are left out when read
 * ({@linkcode VISIBLE_TO}): hiding writes nothing here.
 */
import type { DatabaseSync } from "node:sqlite";
import type { ChatMessage } from "../../protocol/types.ts";
import { searchWords } from "../repository.ts";
import { type MessageRow, rowidBelow, toMessage, VISIBLE_TO } from "./message_rows.ts";
import type { Sql } from "./sql.ts";

/** The SQL function the search triggers call (schema.ts migration 5). */
export const SEARCH_KEYS_FUNCTION = "parley_search_keys";

const HEX_DIGITS = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));
const utf8 = new TextEncoder();

/**
 * Owners by user id: every insert needs two, and making one costs more than
 * the rest of its keys (a user id is short and few are active at once).
 */
const userOwners = new Map<string, string>();
const MAX_CACHED_OWNERS = 10_000;

/**
 * The owner a participant of 1:1 messages finds them by: `u` and the hex of
 * the id's UTF-8 bytes (any id is then one token of ASCII letters and digits).
 */
export function userOwner(userId: string): string {
  let owner = userOwners.get(userId);
  if (owner !== undefined) return owner;
  owner = "u";
  for (const byte of utf8.encode(userId)) owner += HEX_DIGITS[byte];
  if (userOwners.size >= MAX_CACHED_OWNERS) userOwners.clear();
  userOwners.set(userId, owner);
  return owner;
}

/** The owner of a group's messages (a search asks for the searcher's groups). */
export function conversationOwner(conversationId: number): string {
  return `c${conversationId}`;
}

/**
 * The index terms of a message, space-separated: each word under each owner
 * (both participants of a 1:1 message, the conversation of a group message).
 */
export function searchKeysOf(
  text: string,
  senderId: string,
  receiverId: string | null,
  conversationId: number,
): string {
  const owners = receiverId === null
    ? [conversationOwner(conversationId)]
    : [...new Set([userOwner(senderId), userOwner(receiverId)])];
  const words = searchWords(text);
  return owners.flatMap((owner) => words.map((word) => `${owner}_${word}`)).join(" ");
}

/** Registers {@linkcode searchKeysOf} on a connection that writes messages (before migrating). */
export function registerSearchKeys(db: DatabaseSync): void {
  db.function(
    SEARCH_KEYS_FUNCTION,
    { deterministic: true },
    (text, senderId, receiverId, conversationId) =>
      searchKeysOf(
        String(text),
        String(senderId),
        receiverId === null ? null : String(receiverId),
        Number(conversationId),
      ),
  );
}

/**
 * The MATCH text of messages holding every word under one of `owners` (a
 * message has one owner set, so per word any owner is the message's own).
 * Words are letters, digits and marks, never FTS5 syntax; quoted all the same.
 */
function matchEveryWord(words: readonly string[], owners: readonly string[]): string {
  return words.map((word) => `(${owners.map((owner) => `"${owner}_${word}"`).join(" OR ")})`)
    .join(" AND ");
}

export interface IndexSearch {
  q: string;
  /** Every word under one of these owners... */
  owners: readonly string[];
  /** ...and, when given, under this one too (the partner of a 1:1 `with` search). */
  alsoOwner?: string;
  /** Only this conversation's messages (a 1:1 `with`, which the owners alone do not pin down). */
  conversationId?: number;
  /** Who searches: the messages they hid are left out. */
  viewerId: string;
  limit: number;
  before?: string;
}

/** Newest first: FTS5 walks its rowids (which follow message ids) down from the cursor. */
export function searchIndex(sql: Sql, s: IndexSearch): ChatMessage[] {
  const words = searchWords(s.q);
  if (words.length === 0 || s.owners.length === 0) return [];
  const below = rowidBelow(sql, s.before);
  if (below === null) return [];
  let match = matchEveryWord(words, s.owners);
  if (s.alsoOwner !== undefined) match += ` AND ${matchEveryWord(words, [s.alsoOwner])}`;
  return sql.all<MessageRow>(
    `SELECT m.* FROM message_search s JOIN messages m ON m.rowid = s.rowid
     WHERE message_search MATCH ?1 AND s.rowid < ?2
       AND (?4 IS NULL OR m.conversation_id = ?4) AND ${VISIBLE_TO("?5")}
     ORDER BY s.rowid DESC LIMIT ?3`,
    match,
    below,
    s.limit,
    s.conversationId ?? null,
    s.viewerId,
  ).map(toMessage);
}
