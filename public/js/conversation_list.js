// @ts-check
/// <reference lib="dom" />
/**
 * The conversation list: one row per partner, newest first, with presence,
 * last message and unread count, "muted" and "blocked"; and what the page
 * knows of each user. A group is a row too, keyed by its conversation key
 * (groups.js), its last message prefixed with the sender's name.
 */
import { closest, h } from "./dom.js";
import { compareMessages, formatTime } from "./format.js";
import { conversationKeyOf, GroupDirectory, groupIdOf, groupKey } from "./groups.js";

/** @typedef {import("../../src/protocol/types.ts").ChatMessage} ChatMessage */
/** @typedef {import("../../src/protocol/types.ts").ConversationRow} ConversationRow */
/** @typedef {import("../../src/protocol/types.ts").Group} Group */
/** @typedef {import("./groups.js").GroupDirectory} Groups */
/** @typedef {import("../../src/protocol/types.ts").GroupConversationRow} GroupConversationRow */
/** @typedef {import("../../src/protocol/types.ts").PresencePayload} PresencePayload */

/**
 * @typedef {object} Person
 * @property {string | null} username
 * @property {boolean} isOnline
 * @property {string | null} lastSeen
 * @property {boolean} presenceKnown The server shares presence only between chat partners.
 */

/**
 * @typedef {object} Row
 * @property {string} partnerId
 * @property {ChatMessage | null} lastMessage
 * @property {number} unreadCount
 * @property {boolean} muted The reader muted its notifications.
 * @property {string | null} mutedUntil
 */

export class ConversationList {
  /**
   * @param {{ list: HTMLUListElement, empty: HTMLElement }} el
   * @param {(partnerId: string) => void} onOpen
   * @param {Groups} [groups] The reader's groups (their rows are keyed by groups.js's keys).
   */
  constructor(el, onOpen, groups = new GroupDirectory()) {
    this.el = el;
    this.me = "";
    this.active = "";
    /** @type {Map<string, Row>} */
    this.rows = new Map();
    /** @type {Map<string, Person>} */
    this.people = new Map();
    /** @type {Map<string, HTMLLIElement>} */
    this.rowEls = new Map();
    /** Users the reader blocks. @type {Set<string>} */
    this.blocked = new Set();
    this.groups = groups;
    el.list.addEventListener("click", (event) => {
      const li = closest(event.target, "li[data-user]");
      if (li?.dataset.user) onOpen(li.dataset.user);
    });
  }

  /** @param {string} me */
  reset(me) {
    this.me = me;
    this.active = "";
    this.rows.clear();
    this.people.clear();
    this.blocked.clear();
    this.groups.clear();
    for (const li of this.rowEls.values()) li.remove();
    this.rowEls.clear();
    this.render();
  }

  /** @param {string} id */
  person(id) {
    let p = this.people.get(id);
    if (!p) {
      p = { username: null, isOnline: false, lastSeen: null, presenceKnown: false };
      this.people.set(id, p);
    }
    return p;
  }

  /** @param {string} id */
  displayName(id) {
    return this.group(id)?.name ?? (this.people.get(id)?.username || id);
  }

  /** @param {string} id */
  presence(id) {
    const group = this.group(id);
    if (group) return { kind: "group", text: `${group.memberIds.length} members` };
    const p = this.people.get(id);
    if (!p || !p.presenceKnown) return { kind: "unknown", text: "presence unknown" };
    if (p.isOnline) return { kind: "online", text: "online" };
    return {
      kind: "offline",
      text: p.lastSeen ? `offline · last seen ${formatTime(p.lastSeen)}` : "offline",
    };
  }

  /** The group of a row's key; undefined for a partner's row. @param {string} key */
  group(key) {
    const groupId = groupIdOf(key);
    return groupId === null ? undefined : this.groups.get(groupId);
  }

  /** @param {string} partnerId */
  row(partnerId) {
    let r = this.rows.get(partnerId);
    if (!r) {
      r = { partnerId, lastMessage: null, unreadCount: 0, muted: false, mutedUntil: null };
      this.rows.set(partnerId, r);
    }
    return r;
  }

  /**
   * The server's list replaces ours; rows it does not know yet (a chat just opened) stay,
   * but not a group it left out (the reader is no longer in it) unless it is open.
   * @param {(ConversationRow | GroupConversationRow)[]} rows
   */
  replace(rows) {
    /** @type {Map<string, Row>} */
    const next = new Map();
    /** @param {string} key @param {ConversationRow | GroupConversationRow} r */
    const addRow = (key, r) =>
      next.set(key, {
        partnerId: key,
        lastMessage: r.lastMessage,
        unreadCount: r.unreadCount,
        muted: r.muted ?? false,
        mutedUntil: r.mutedUntil ?? null,
      });
    for (const r of rows) {
      if ("group" in r) {
        this.groups.set(r.group);
        addRow(groupKey(r.group._id), r);
        continue;
      }
      const p = this.person(r.user._id);
      p.username = r.user.username ?? p.username;
      p.isOnline = r.user.isOnline;
      p.lastSeen = r.user.lastSeen;
      p.presenceKnown = true;
      addRow(r.user._id, r);
    }
    for (const [id, r] of this.rows) {
      const keep = id === this.active || (r.lastMessage !== null && groupIdOf(id) === null);
      if (!next.has(id) && keep) next.set(id, r);
    }
    for (const groupId of [...this.groups.groups.keys()]) {
      if (!next.has(groupKey(groupId))) this.groups.remove(groupId);
    }
    this.rows = next;
    this.render();
  }

  /** @param {PresencePayload} p */
  setPresence(p) {
    const person = this.person(p.userId);
    person.isOnline = p.isOnline;
    person.lastSeen = p.lastSeen ?? person.lastSeen;
    person.presenceKnown = true;
    this.render();
  }

  /**
   * A message of this user's: it becomes its row's last message.
   * @param {ChatMessage} m
   * @param {boolean} countsUnread
   */
  noteMessage(m, countsUnread) {
    const r = this.row(conversationKeyOf(m, this.me));
    if (!r.lastMessage || compareMessages(r.lastMessage, m) <= 0) r.lastMessage = m;
    if (countsUnread) r.unreadCount += 1;
    this.render();
  }

  /**
   * @param {string} partnerId
   * @param {boolean} muted
   * @param {string | null} mutedUntil
   */
  setMuted(partnerId, muted, mutedUntil) {
    const r = this.row(partnerId);
    r.muted = muted;
    r.mutedUntil = mutedUntil;
    this.render();
  }

  /** @param {string} partnerId @param {boolean} blocked */
  setBlocked(partnerId, blocked) {
    if (blocked) this.blocked.add(partnerId);
    else this.blocked.delete(partnerId);
    this.render();
  }

  /**
   * A message's text changed (edited): the rows showing it follow.
   * @param {string} messageId
   * @param {string} text
   */
  noteEdit(messageId, text) {
    for (const r of this.rows.values()) {
      if (r.lastMessage?._id === messageId) r.lastMessage = { ...r.lastMessage, text };
    }
    this.render();
  }

  /** A group the reader is in was made or changed. @param {Group} group */
  addGroup(group) {
    this.groups.set(group);
    this.row(groupKey(group._id));
    this.render();
  }

  /** The reader is no longer in a group. @param {string} groupId */
  removeGroup(groupId) {
    this.groups.remove(groupId);
    this.rows.delete(groupKey(groupId));
    this.render();
  }

  /** @param {string} partnerId */
  markOneRead(partnerId) {
    const r = this.rows.get(partnerId);
    if (r && r.unreadCount > 0) r.unreadCount -= 1;
    this.render();
  }

  /** The open chat; listed even before its first message. @param {string} partnerId */
  setActive(partnerId) {
    this.active = partnerId;
    if (partnerId) this.row(partnerId);
    this.render();
  }

  /** Re-renders the rows in order, moving only rows that must move. */
  render() {
    const ordered = [...this.rows.values()].sort((a, b) => {
      const ta = a.lastMessage?.createdAt ?? "";
      const tb = b.lastMessage?.createdAt ?? "";
      if (ta !== tb) return ta < tb ? 1 : -1;
      return a.partnerId < b.partnerId ? -1 : 1;
    });
    for (const [id, li] of this.rowEls) {
      if (!this.rows.has(id)) {
        li.remove();
        this.rowEls.delete(id);
      }
    }
    const list = this.el.list;
    ordered.forEach((r, i) => {
      const li = this.renderRow(r);
      if (list.children[i] !== li) list.insertBefore(li, list.children[i] ?? null);
    });
    this.el.empty.hidden = ordered.length > 0;
  }

  /** @param {Row} r */
  renderRow(r) {
    let li = this.rowEls.get(r.partnerId);
    if (!li) {
      li = buildRow(r.partnerId);
      this.rowEls.set(r.partnerId, li);
    }
    const presence = this.presence(r.partnerId);
    const set = (/** @type {string} */ selector, /** @type {string} */ text) => {
      const node = li.querySelector(selector);
      if (node) node.textContent = text;
      return node;
    };
    li.querySelector(".dot")?.setAttribute("class", `dot ${presence.kind}`);
    li.classList.toggle("group", this.group(r.partnerId) !== undefined);
    set(".name", this.displayName(r.partnerId));
    const username = this.people.get(r.partnerId)?.username;
    const handle = set(".handle", username && username !== r.partnerId ? r.partnerId : "");
    if (handle instanceof HTMLElement) handle.hidden = handle.textContent === "";
    set(".conv-time", r.lastMessage ? formatTime(r.lastMessage.createdAt) : "");
    set(
      ".presence-label",
      `, ${
        presence.kind === "unknown"
          ? "presence unknown"
          : presence.kind === "group"
          ? presence.text
          : presence.kind
      }, `,
    );
    set(".preview", this.preview(r.lastMessage));
    const flags = [r.muted ? "muted" : "", this.blocked.has(r.partnerId) ? "blocked" : ""]
      .filter(Boolean).join(" · ");
    const flagsEl = set(".conv-flags", flags);
    if (flagsEl instanceof HTMLElement) {
      flagsEl.hidden = flags === "";
      flagsEl.title = r.muted && r.mutedUntil
        ? `muted until ${new Date(r.mutedUntil).toLocaleString()}`
        : "";
    }
    const count = Math.max(0, r.unreadCount);
    const unread = set(".unread", String(count));
    if (unread instanceof HTMLElement) unread.hidden = count === 0;
    const unreadLabel = li.querySelector(".unread-label");
    if (unreadLabel instanceof HTMLElement) unreadLabel.hidden = count === 0;
    const active = this.active === r.partnerId;
    li.classList.toggle("active", active);
    const button = li.querySelector(".conv-btn");
    if (active) button?.setAttribute("aria-current", "true");
    else button?.removeAttribute("aria-current");
    return li;
  }

  /** @param {ChatMessage | null} m */
  preview(m) {
    if (!m) return "No messages yet";
    const prefix = m.senderId === this.me
      ? "You: "
      : m.groupId
      ? `${this.displayName(m.senderId)}: `
      : "";
    if (m.text) return prefix + m.text;
    if (m.file) return `${prefix}📎 ${m.file.name || "file"}`;
    return `${prefix}(empty message)`;
  }
}

/** @param {string} partnerId */
function buildRow(partnerId) {
  const li = h("li", "conversation");
  li.dataset.user = partnerId;
  const button = h("button", "conv-btn");
  button.type = "button";
  const dot = h("span", "dot");
  dot.setAttribute("aria-hidden", "true");
  const body = h("span", "conv-body");
  const top = h("span", "conv-top");
  top.append(
    h("span", "name"),
    h("span", "handle"),
    h("span", "conv-flags"),
    h("span", "conv-time"),
  );
  body.append(top, h("span", "sr-only presence-label"), h("span", "preview"));
  button.append(dot, body, h("span", "unread"), h("span", "sr-only unread-label", " unread"));
  li.append(button);
  return li;
}
