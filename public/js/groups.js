// @ts-check
/// <reference lib="dom" />
/**
 * Group conversations on the page: which conversation a message belongs to,
 * the groups the reader is in, who has read what, and the reader's own read
 * pointer. The rest of the page keys a conversation by one string: the
 * partner's user id for a 1:1 chat, `group:` + its id for a group, so the
 * list, the message list and the outbox need no second kind of key.
 */
import { compareMessages } from "./format.js";

/** @typedef {import("../../src/protocol/types.ts").ChatMessage} ChatMessage */
/** @typedef {import("../../src/protocol/types.ts").Group} Group */
/** @typedef {import("../../src/protocol/types.ts").GroupReadPayload} GroupReadPayload */
/** @typedef {import("./connection.js").Connection} Connection */

const GROUP_PREFIX = "group:";
/** Read pointers of what the reader saw go out at most this often per group. */
const READ_FLUSH_MS = 250;
const READ_TIMEOUT_MS = 10_000;

/** The conversation key of a group. @param {string} groupId */
export function groupKey(groupId) {
  return GROUP_PREFIX + groupId;
}

/** The group id of a conversation key; null for a 1:1 chat. @param {string} key */
export function groupIdOf(key) {
  return key.startsWith(GROUP_PREFIX) ? key.slice(GROUP_PREFIX.length) : null;
}

/**
 * The conversation a message belongs to, as `me` sees it.
 * @param {Pick<ChatMessage, "senderId" | "receiverId" | "groupId">} m
 * @param {string} me
 */
export function conversationKeyOf(m, me) {
  if (m.groupId) return groupKey(m.groupId);
  return m.senderId === me ? m.receiverId ?? "" : m.senderId;
}

/**
 * Sent to `me` by someone else (a group message by another member counts).
 * @param {Pick<ChatMessage, "senderId" | "receiverId" | "groupId">} m
 * @param {string} me
 */
export function isIncoming(m, me) {
  return m.senderId !== me && (m.groupId ? true : m.receiverId === me);
}

/**
 * User ids typed into one field: separated by commas, spaces or new lines,
 * repeats and `me` dropped, in the order typed.
 * @param {string} text
 * @param {string} me
 */
export function parseUserIds(text, me) {
  return [...new Set(text.split(/[\s,]+/).map((s) => s.trim()).filter((s) => s && s !== me))];
}

/**
 * The groups the reader is in, and the read pointers of their members that
 * the page has learnt (live `groupRead`, or a message's read-by list).
 */
export class GroupDirectory {
  constructor() {
    /** @type {Map<string, Group>} */
    this.groups = new Map();
    /**
     * Per group, per member: the newest message they are known to have read.
     * @type {Map<string, Map<string, { messageId: string, readAt: string }>>}
     */
    this.pointers = new Map();
  }

  clear() {
    this.groups.clear();
    this.pointers.clear();
  }

  /** @param {string} groupId */
  get(groupId) {
    return this.groups.get(groupId);
  }

  /** @param {Group} group */
  set(group) {
    this.groups.set(group._id, group);
  }

  /** @param {string} groupId */
  remove(groupId) {
    this.groups.delete(groupId);
    this.pointers.delete(groupId);
  }

  /**
   * A member read up to a message (never moves a known pointer back).
   * @param {GroupReadPayload} read
   * @param {(messageId: string) => ChatMessage | undefined} lookup
   */
  noteRead(read, lookup) {
    let members = this.pointers.get(read.groupId);
    if (!members) this.pointers.set(read.groupId, members = new Map());
    const known = members.get(read.userId);
    if (known && !isAfter(read.messageId, known.messageId, lookup)) return;
    members.set(read.userId, { messageId: read.messageId, readAt: read.readAt });
  }

  /**
   * The members other than the sender known to have read `m`, with when.
   * @param {ChatMessage} m
   * @param {(messageId: string) => ChatMessage | undefined} lookup
   * @returns {{ userId: string, readAt: string }[]}
   */
  readersOf(m, lookup) {
    const members = m.groupId ? this.pointers.get(m.groupId) : undefined;
    if (!members) return [];
    const readers = [];
    for (const [userId, p] of members) {
      if (userId === m.senderId) continue;
      if (p.messageId === m._id || isAfter(p.messageId, m._id, lookup)) {
        readers.push({ userId, readAt: p.readAt });
      }
    }
    return readers;
  }
}

/**
 * Whether message `a` is newer than `b`: by the messages when both are
 * known, else by id (both stores' ids grow with time).
 * @param {string} a
 * @param {string} b
 * @param {(messageId: string) => ChatMessage | undefined} lookup
 */
function isAfter(a, b, lookup) {
  const ma = lookup(a);
  const mb = lookup(b);
  if (ma && mb) return compareMessages(ma, mb) > 0;
  return a > b;
}

/**
 * The reader's read pointer in each group: what was on screen moves it
 * forward (`markGroupRead`), one request per group at a time for the newest
 * message seen, however many came into view together.
 */
export class GroupReadPointer {
  /**
   * @param {Connection} connection
   * @param {(read: GroupReadPayload) => void} moved The server's answer: the pointer now.
   * @param {(err: unknown) => void} failed
   */
  constructor(connection, moved, failed) {
    this.connection = connection;
    this.moved = moved;
    this.failed = failed;
    /** The newest message seen and not yet sent, per group. @type {Map<string, ChatMessage>} */
    this.due = new Map();
    /** @type {Map<string, ReturnType<typeof setTimeout>>} */
    this.timers = new Map();
    /** The newest message sent per group: what is older is covered. @type {Map<string, ChatMessage>} */
    this.last = new Map();
  }

  /** @param {ChatMessage} m An incoming group message that was on screen. */
  seen(m) {
    const groupId = m.groupId;
    const last = groupId ? this.last.get(groupId) : undefined;
    if (!groupId || (last && compareMessages(m, last) <= 0)) return;
    const due = this.due.get(groupId);
    if (!due || compareMessages(m, due) > 0) this.due.set(groupId, m);
    if (!this.timers.has(groupId)) {
      this.timers.set(groupId, setTimeout(() => void this.flush(groupId), READ_FLUSH_MS));
    }
  }

  /** @param {string} groupId */
  async flush(groupId) {
    this.timers.delete(groupId);
    const m = this.due.get(groupId);
    this.due.delete(groupId);
    if (!m || !this.connection.connected) return;
    const before = this.last.get(groupId);
    this.last.set(groupId, m);
    const res = await this.connection.request(
      "markGroupRead",
      { groupId, messageId: m._id },
      READ_TIMEOUT_MS,
    );
    if (!res.ok) {
      if (this.last.get(groupId) === m) {
        if (before) this.last.set(groupId, before);
        else this.last.delete(groupId);
      }
      return this.failed(res);
    }
    this.moved(res);
  }

  clear() {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    this.due.clear();
    this.last.clear();
  }
}
