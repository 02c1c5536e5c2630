// @ts-check
/// <reference lib="dom" />
/**
 * The open conversation's messages, as a chat app shows them: oldest at the
 * top, day separators, an unread divider, the view kept at the newest message
 * while the reader is there (also when images load later), a "new messages"
 * button when they are not. A message from the partner counts as read only
 * once it has been on screen while the page was visible. A message shows the
 * quote it replies to (a button that jumps to the original when it is loaded),
 * "edited", its reactions (toggles), and a "Message actions" menu.
 */
import { closest, h } from "./dom.js";
import {
  compareMessages,
  dayKey,
  formatDay,
  formatSize,
  formatTime,
  safeHttpUrl,
} from "./format.js";
import { conversationKeyOf, groupIdOf, isIncoming } from "./groups.js";
import { MessageMenu } from "./message_menu.js";
import { hasReacted, renderReactions } from "./reactions.js";

/** @typedef {import("../../src/protocol/types.ts").ChatMessage} ChatMessage */
/** @typedef {import("./outbox.js").Outgoing} Outgoing */
/** What a bubble shows: a stored message, or one still on its way out (no id yet). */
/** @typedef {Pick<ChatMessage, "_id" | "senderId" | "text" | "file" | "createdAt" | "deliveredAt" | "readAt"> & Partial<Pick<ChatMessage, "editedAt" | "reactions" | "replyTo">>} Shown */
/** @typedef {import("../../src/protocol/types.ts").ReplyTo} ReplyTo */
/** @typedef {import("./message_menu.js").MessageAction} MessageAction */
/** @typedef {import("./uploads.js").UploadCache} UploadCache */

/** Closer to the bottom than this counts as "at the bottom". */
const BOTTOM_SLACK_PX = 48;
/** Seen: this much of the message, or of the viewport for a tall one, is on screen. */
const SEEN_RATIO = 0.6;
/**
 * The server's default EDIT_WINDOW_MS: "Edit" is offered this long after sending. The
 * server does not tell clients its setting; a refusal after its own window shows as a toast.
 */
const EDIT_WINDOW_MS = 900_000;
/** How long a message the reader jumped to stays highlighted. */
const HIGHLIGHT_MS = 2000;

/**
 * @typedef {object} MessageListElements
 * @property {HTMLElement} history The scrolling box.
 * @property {HTMLUListElement} list
 * @property {HTMLButtonElement} newMessages
 */

/**
 * @typedef {object} MessageListEvents
 * @property {(message: ChatMessage) => void} seen An unread message from the partner was on screen.
 * @property {(messageId: string) => void} deleteMessage
 * @property {(clientMessageId: string) => void} retry
 * @property {(choice: { action: MessageAction | "react", emoji?: string }, message: ChatMessage) => void} act
 *   A reaction toggled, or an item of the message's menu chosen.
 * @property {(userId: string) => string} nameOf The name to show for a user.
 * @property {(message: ChatMessage, trigger: HTMLElement) => void} readBy Who read an own group
 *   message (its "Read by" button).
 */

export class MessageList {
  /**
   * @param {MessageListElements} el
   * @param {UploadCache} uploads
   * @param {MessageListEvents} events
   */
  constructor(el, uploads, events) {
    this.el = el;
    this.uploads = uploads;
    this.events = events;
    this.me = "";
    this.partnerId = "";
    /** @type {Map<string, ChatMessage>} */
    this.messages = new Map();
    /** @type {Map<string, HTMLLIElement>} message id or `c:` + clientMessageId → bubble */
    this.bubbles = new Map();
    /** @type {Map<string, Outgoing>} */
    this.outgoing = new Map();
    /** The first unread message when the conversation was opened. */
    this.unreadFrom = "";
    this.atBottom = true;
    /** The scroll height the last scroll event saw. */
    this.lastScrollHeight = 0;
    /** Ids of partner messages now on screen (kept while the page is hidden). */
    this.onScreen = new Set();
    this.menu = new MessageMenu((choice, id) => {
      const m = this.messages.get(id);
      if (m) events.act(choice, m);
    });

    this.seenObserver = new IntersectionObserver((entries) => this.onIntersect(entries), {
      root: el.history,
      threshold: [0, 0.25, 0.5, SEEN_RATIO, 0.75, 1],
    });
    // Images and previews grow the list after it was scrolled: stay at the bottom.
    this.resizeObserver = new ResizeObserver(() => {
      if (this.atBottom) this.scrollToBottom();
    });
    this.resizeObserver.observe(el.list);
    el.history.addEventListener("scroll", () => {
      // A scroll that comes with grown content is the browser's scroll anchoring
      // keeping a bubble in place as an image above it loads, not the reader
      // leaving the bottom: whoever was at the bottom stays there.
      const grew = el.history.scrollHeight !== this.lastScrollHeight;
      this.lastScrollHeight = el.history.scrollHeight;
      if (grew && this.atBottom) return this.scrollToBottom();
      this.atBottom = this.distanceFromBottom() < BOTTOM_SLACK_PX;
      if (this.atBottom) el.newMessages.hidden = true;
    }, { passive: true });
    el.newMessages.addEventListener("click", () => this.scrollToBottom());
    el.list.addEventListener("click", (event) => this.onClick(event));
    document.addEventListener("visibilitychange", () => this.reportSeen());
  }

  /**
   * Empties the list for another conversation (or none).
   * @param {string} me
   * @param {string} partnerId
   */
  reset(me, partnerId) {
    this.me = me;
    this.partnerId = partnerId;
    this.messages.clear();
    this.outgoing.clear();
    this.bubbles.clear();
    this.onScreen.clear();
    this.menu.close(false);
    this.seenObserver.disconnect();
    this.unreadFrom = "";
    this.el.list.replaceChildren();
    this.el.newMessages.hidden = true;
    this.atBottom = true;
  }

  get size() {
    return this.messages.size + this.outgoing.size;
  }

  oldest() {
    return [...this.messages.values()].sort(compareMessages)[0];
  }

  newest() {
    return [...this.messages.values()].sort(compareMessages).at(-1);
  }

  /**
   * Adds or updates stored messages of this conversation.
   * @param {ChatMessage[]} list
   * @param {{ older?: boolean, firstPage?: boolean }} [how]
   */
  add(list, how = {}) {
    const box = this.el.history;
    const fromBottom = box.scrollHeight - box.scrollTop;
    const wasAtBottom = this.atBottom;
    let incoming = false;
    let mine = false;
    for (const m of list) {
      if (this.partnerOf(m) !== this.partnerId) continue;
      const known = this.messages.get(m._id);
      if (known) {
        this.update(m);
        continue;
      }
      this.messages.set(m._id, m);
      const li = this.build(m);
      this.bubbles.set(m._id, li);
      if (isIncoming(m, this.me) && !m.readAt) this.seenObserver.observe(li);
      if (m.senderId === this.me) mine = true;
      else incoming = true;
    }
    if (how.firstPage) {
      const firstUnread = [...this.messages.values()].sort(compareMessages)
        .find((m) => isIncoming(m, this.me) && !m.readAt);
      this.unreadFrom = firstUnread?._id ?? "";
    }
    this.layout();
    if (how.older) {
      // Keep what the reader was looking at where it was.
      box.scrollTop = box.scrollHeight - fromBottom;
      this.lastScrollHeight = box.scrollHeight;
    } else if (how.firstPage || mine || wasAtBottom) {
      this.scrollToBottom();
    } else if (incoming) {
      this.el.newMessages.hidden = false;
    }
  }

  /** Ticks and read state of a known message. @param {ChatMessage} m */
  update(m) {
    const known = this.messages.get(m._id);
    if (!known) return;
    if (m.deliveredAt && !known.deliveredAt) known.deliveredAt = m.deliveredAt;
    if (m.readAt && !known.readAt) known.readAt = m.readAt;
    const li = this.bubbles.get(m._id);
    if (li) {
      this.renderTicks(li, known);
      if (known.readAt) this.seenObserver.unobserve(li);
    }
  }

  /**
   * Text, "edited", quote and reactions of a known message changed: its bubble
   * is redrawn in place (the reader's focus stays where it was).
   * @param {ChatMessage} m
   */
  refresh(m) {
    const li = this.bubbles.get(m._id);
    if (!li) return;
    const bubble = li.querySelector(".bubble");
    const text = li.querySelector("p.text");
    if (text && m.text !== null) text.textContent = m.text;
    const quote = li.querySelector(".quote");
    if (m.replyTo) quote?.replaceWith(this.buildQuote(m.replyTo));
    const edited = li.querySelector(".edited");
    if (edited instanceof HTMLElement) {
      edited.hidden = !m.editedAt;
      if (m.editedAt) edited.title = `edited ${new Date(m.editedAt).toLocaleString()}`;
    }
    const row = li.querySelector(".reactions");
    if (row instanceof HTMLElement) renderReactions(row, m.reactions ?? [], this.me);
    if (bubble && !text && m.text) bubble.prepend(h("p", "text", m.text));
  }

  /**
   * Replies quoting a message deleted for everyone now say so.
   * @param {string} messageId
   */
  quoteDeleted(messageId) {
    for (const m of this.messages.values()) {
      if (m.replyTo?._id !== messageId || "deleted" in m.replyTo) continue;
      m.replyTo = { _id: messageId, deleted: true };
      this.refresh(m);
    }
  }

  /**
   * Scrolls to a loaded message and highlights it; false when it is not loaded.
   * @param {string} messageId
   */
  jumpTo(messageId) {
    const li = this.bubbles.get(messageId);
    if (!li) return false;
    li.scrollIntoView({ block: "center" });
    this.atBottom = this.distanceFromBottom() < BOTTOM_SLACK_PX;
    li.classList.add("highlight");
    li.tabIndex = -1;
    li.focus({ preventScroll: true });
    setTimeout(() => li.classList.remove("highlight"), HIGHLIGHT_MS);
    return true;
  }

  /** The reader reported this message. @param {string} messageId */
  markReported(messageId) {
    const label = this.bubbles.get(messageId)?.querySelector(".reported");
    if (label instanceof HTMLElement) label.hidden = false;
  }

  /** @param {string} messageId */
  remove(messageId) {
    const li = this.bubbles.get(messageId);
    this.messages.delete(messageId);
    this.bubbles.delete(messageId);
    this.onScreen.delete(messageId);
    if (li) {
      this.seenObserver.unobserve(li);
      li.remove();
      this.layout();
    }
  }

  /**
   * A message on its way out (pending or failed).
   * @param {Outgoing} o
   */
  showOutgoing(o) {
    if (o.receiverId !== this.partnerId) return;
    const key = `c:${o.clientMessageId}`;
    this.outgoing.set(o.clientMessageId, o);
    let li = this.bubbles.get(key);
    if (!li) {
      li = this.build({
        _id: "",
        senderId: this.me,
        text: o.text,
        file: o.file,
        createdAt: o.createdAt,
        deliveredAt: null,
        readAt: null,
      });
      li.dataset.clientId = o.clientMessageId;
      this.bubbles.set(key, li);
      this.layout();
      this.scrollToBottom();
    }
    this.renderTicks(li, null, o);
  }

  /**
   * A pending message was stored: its bubble becomes the stored one.
   * @param {Outgoing} o
   * @param {ChatMessage} stored
   */
  settleOutgoing(o, stored) {
    const key = `c:${o.clientMessageId}`;
    const li = this.bubbles.get(key);
    this.outgoing.delete(o.clientMessageId);
    this.bubbles.delete(key);
    li?.remove();
    this.add([stored]);
  }

  /** The conversation of a message (a partner, or a group's key). @param {ChatMessage} m */
  partnerOf(m) {
    return conversationKeyOf(m, this.me);
  }

  /**
   * The "Read by" button of an own group message says how many read it.
   * @param {string} messageId
   * @param {string} label
   */
  setReadBy(messageId, label) {
    const button = this.bubbles.get(messageId)?.querySelector("button.read-by");
    if (button) button.textContent = label;
  }

  /** Puts bubbles, day separators and the unread divider in order, moving only what must move. */
  layout() {
    const stored = [...this.messages.values()].sort(compareMessages);
    const pending = [...this.outgoing.values()].sort((a, b) => a.createdAt < b.createdAt ? -1 : 1);
    /** @type {HTMLLIElement[]} */
    const order = [];
    let day = "";
    /** @type {Map<string, HTMLLIElement>} reuse separators so they do not flicker */
    const separators = new Map();
    for (const node of this.el.list.querySelectorAll("li.day, li.unread-divider")) {
      if (node instanceof HTMLLIElement) separators.set(node.dataset.key ?? "", node);
    }
    /** @param {string} key @param {string} className @param {string} text */
    const separator = (key, className, text) => {
      const found = separators.get(key);
      separators.delete(key);
      if (found) return found;
      const li = h("li", className, text);
      li.dataset.key = key;
      li.setAttribute("role", "separator");
      return li;
    };
    const entries = [
      ...stored.map((m) => ({ at: m.createdAt, key: m._id, id: m._id })),
      ...pending.map((o) => ({ at: o.createdAt, key: `c:${o.clientMessageId}`, id: "" })),
    ];
    for (const entry of entries) {
      const d = dayKey(entry.at);
      if (d !== day) {
        day = d;
        order.push(separator(`day:${d}`, "day", formatDay(entry.at)));
      }
      if (entry.id && entry.id === this.unreadFrom) {
        order.push(separator("unread", "unread-divider", "Unread messages"));
      }
      const li = this.bubbles.get(entry.key);
      if (li) order.push(li);
    }
    for (const stale of separators.values()) stale.remove();
    const list = this.el.list;
    order.forEach((li, i) => {
      if (list.children[i] !== li) list.insertBefore(li, list.children[i] ?? null);
    });
  }

  /** @param {Shown} m */
  build(m) {
    const mine = m.senderId === this.me;
    const li = h("li", `message ${mine ? "mine" : "theirs"}`);
    if (m._id) li.dataset.id = m._id;
    const bubble = h("div", "bubble");
    const inGroup = groupIdOf(this.partnerId) !== null;
    // In a group, whose message it is matters as much as what it says.
    if (inGroup && !mine) bubble.append(h("span", "sender", this.events.nameOf(m.senderId)));
    if (m.replyTo) bubble.append(this.buildQuote(m.replyTo));
    if (m.text) bubble.append(h("p", "text", m.text));
    if (m.file) bubble.append(this.buildFile(m.file));
    const meta = h("div", "meta");
    const time = h("time", "time", formatTime(m.createdAt));
    time.dateTime = m.createdAt;
    time.title = new Date(m.createdAt).toLocaleString();
    const edited = h("span", "edited", "edited");
    edited.hidden = !m.editedAt;
    if (m.editedAt) edited.title = `edited ${new Date(m.editedAt).toLocaleString()}`;
    const reported = h("span", "reported", "reported");
    reported.hidden = true;
    meta.append(time, edited, reported);
    if (m._id) {
      const actions = h("button", "actions", "⋯");
      actions.type = "button";
      actions.setAttribute("aria-label", "Message actions");
      actions.setAttribute("aria-haspopup", "menu");
      actions.setAttribute("aria-expanded", "false");
      meta.append(actions);
    }
    if (mine && inGroup && m._id) {
      // A group message is read by some members and not others: a button to the list.
      const readBy = h("button", "read-by", "Sent");
      readBy.type = "button";
      readBy.title = "Who read it";
      meta.append(readBy);
    } else if (mine) {
      meta.append(h("span", "ticks"));
    }
    if (mine) {
      const retry = h("button", "retry", "failed — retry");
      retry.type = "button";
      retry.hidden = true;
      const del = h("button", "delete", "Delete");
      del.type = "button";
      del.setAttribute("aria-label", "Delete message");
      del.hidden = !m._id;
      meta.append(retry, del);
    }
    const reactions = h("div", "reactions");
    reactions.setAttribute("role", "group");
    reactions.setAttribute("aria-label", "Reactions");
    renderReactions(reactions, m.reactions ?? [], this.me);
    li.append(bubble, reactions, meta);
    this.renderTicks(li, m);
    return li;
  }

  /**
   * The quoted message above a reply: a button to the original, or "deleted message".
   * @param {ReplyTo} r
   */
  buildQuote(r) {
    if ("deleted" in r) {
      const gone = h("div", "quote deleted", "deleted message");
      gone.dataset.quote = r._id;
      return gone;
    }
    const quote = h("button", "quote");
    quote.type = "button";
    quote.dataset.quote = r._id;
    const who = r.senderId === this.me ? "You" : this.events.nameOf(r.senderId);
    const what = r.text ?? (r.file ? `📎 ${r.file.name || "file"}` : "");
    quote.append(h("span", "quote-name", who), h("span", "quote-text", what));
    quote.title = "Show the original message";
    return quote;
  }

  /**
   * Opens the "Message actions" menu of a stored message.
   * @param {HTMLButtonElement} trigger
   * @param {ChatMessage} m
   */
  openMenu(trigger, m) {
    const mine = m.senderId === this.me;
    /** @type {import("./message_menu.js").MenuItem[]} */
    const items = [{ action: "reply", label: "Reply" }];
    const age = Date.now() - new Date(m.createdAt).getTime();
    if (mine && m.text !== null && age < EDIT_WINDOW_MS) {
      items.push({ action: "edit", label: "Edit" });
    }
    items.push({ action: "deleteForMe", label: "Delete for me" });
    if (mine) items.push({ action: "deleteForEveryone", label: "Delete for everyone" });
    // The server takes no reports of group messages (a report names its one receiver).
    else if (!m.groupId) items.push({ action: "report", label: "Report" });
    this.menu.open(trigger, m._id, {
      react: true,
      items,
      reacted: (emoji) => hasReacted(m, this.me, emoji),
    });
  }

  /** @param {import("../../src/protocol/types.ts").FileAttachment} f */
  buildFile(f) {
    const file = h("div", "file");
    const href = safeHttpUrl(f.url);
    const name = f.name || "file";
    const link = href ? h("a", "file-link", name) : h("span", "file-link", name);
    if (link instanceof HTMLAnchorElement && href) {
      link.href = href;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      if (this.uploads.api.isOwnUpload(href)) {
        // Fetched with the token when clicked; images also get a preview.
        link.dataset.upload = href;
        link.removeAttribute("target");
        if (f.type === "image") void this.uploads.preview(file, href, name);
      }
    }
    file.append(h("span", "file-icon", "📎"), link);
    file.append(h("span", "file-meta", ` (${f.type ?? "file"}, ${formatSize(f.size)})`));
    return file;
  }

  /**
   * @param {HTMLLIElement} li
   * @param {Shown | null} m
   * @param {Outgoing} [o]
   */
  renderTicks(li, m, o) {
    const ticks = li.querySelector(".ticks");
    if (!(ticks instanceof HTMLElement)) return;
    const state = o ? o.state : m?.readAt ? "read" : m?.deliveredAt ? "delivered" : "sent";
    ticks.dataset.state = state;
    ticks.textContent = state === "pending" ? "sending…" : state === "failed" ? "" : state;
    ticks.title = state === "read" && m?.readAt
      ? `read ${new Date(m.readAt).toLocaleString()}`
      : state === "delivered" && m?.deliveredAt
      ? `delivered ${new Date(m.deliveredAt).toLocaleString()}`
      : state === "failed"
      ? `not sent: ${o?.error ?? "no answer"}`
      : state;
    const retry = li.querySelector(".retry");
    if (retry instanceof HTMLButtonElement) retry.hidden = state !== "failed";
    li.classList.toggle("failed", state === "failed");
    li.classList.toggle("pending", state === "pending");
  }

  /** @param {IntersectionObserverEntry[]} entries */
  onIntersect(entries) {
    for (const entry of entries) {
      const id = entry.target instanceof HTMLElement ? entry.target.dataset.id : undefined;
      if (!id) continue;
      const rootHeight = entry.rootBounds?.height ?? 0;
      const seen = entry.isIntersecting && (entry.intersectionRatio >= SEEN_RATIO ||
        entry.intersectionRect.height >= SEEN_RATIO * rootHeight);
      if (seen) this.onScreen.add(id);
      else this.onScreen.delete(id);
    }
    this.reportSeen();
  }

  /** Reports the unread messages on screen, if the page is visible. */
  reportSeen() {
    if (document.visibilityState !== "visible") return;
    for (const id of this.onScreen) {
      const m = this.messages.get(id);
      if (m && !m.readAt) this.events.seen(m);
    }
  }

  distanceFromBottom() {
    const box = this.el.history;
    return box.scrollHeight - box.scrollTop - box.clientHeight;
  }

  scrollToBottom() {
    const box = this.el.history;
    box.scrollTop = box.scrollHeight;
    this.lastScrollHeight = box.scrollHeight;
    this.atBottom = true;
    this.el.newMessages.hidden = true;
  }

  /** @param {Event} event */
  onClick(event) {
    const li = closest(event.target, "li.message");
    if (!li) return;
    const stored = li.dataset.id ? this.messages.get(li.dataset.id) : undefined;
    const actions = closest(event.target, "button.actions");
    const chip = closest(event.target, "button.reaction");
    const quote = closest(event.target, "button.quote");
    const readBy = closest(event.target, "button.read-by");
    if (actions instanceof HTMLButtonElement && stored) {
      if (this.menu.isOpen && this.menu.trigger === actions) this.menu.close(true);
      else this.openMenu(actions, stored);
    } else if (readBy && stored) {
      this.events.readBy(stored, readBy);
    } else if (chip?.dataset.emoji && stored) {
      this.events.act({ action: "react", emoji: chip.dataset.emoji }, stored);
    } else if (quote?.dataset.quote) {
      if (!this.jumpTo(quote.dataset.quote)) {
        quote.title = "The original message is not loaded (Load older)";
        quote.classList.add("missing");
      }
    } else if (closest(event.target, ".delete") && li.dataset.id) {
      this.events.deleteMessage(li.dataset.id);
    } else if (closest(event.target, ".retry") && li.dataset.clientId) {
      this.events.retry(li.dataset.clientId);
    } else {
      const link = closest(event.target, "a.file-link[data-upload]");
      if (link?.dataset.upload) {
        event.preventDefault();
        void this.uploads.download(link.dataset.upload, link.textContent ?? "file");
      }
    }
  }
}
