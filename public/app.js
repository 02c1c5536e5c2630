// Parley test page. Plain ES2022, no framework, no inline code (strict CSP).
// Every user-provided string reaches the DOM through textContent or attributes,
// never through innerHTML.
"use strict";

(() => {
  const HISTORY_LIMIT = 50;
  const CONVERSATIONS_LIMIT = 100;
  const TYPING_THROTTLE_MS = 2000;
  const TYPING_IDLE_MS = 3000;
  const TYPING_EXPIRE_MS = 5000;
  const ACK_TIMEOUT_MS = 15000;
  const MAX_ERRORS = 6;

  const $ = (id) => {
    const found = document.getElementById(id);
    if (!found) throw new Error(`missing #${id}`);
    return found;
  };

  const el = {
    status: $("status"),
    errors: $("errors"),
    signinForm: $("signinForm"),
    userId: $("userId"),
    username: $("username"),
    devTokenBtn: $("devTokenBtn"),
    token: $("token"),
    connectBtn: $("connectBtn"),
    disconnectBtn: $("disconnectBtn"),
    newChatForm: $("newChatForm"),
    partnerId: $("partnerId"),
    openChatBtn: $("openChatBtn"),
    conversations: $("conversations"),
    conversationsEmpty: $("conversationsEmpty"),
    partnerName: $("partnerName"),
    partnerStatus: $("partnerStatus"),
    history: document.querySelector(".history"),
    loadOlderBtn: $("loadOlderBtn"),
    messages: $("messages"),
    messagesEmpty: $("messagesEmpty"),
    typing: $("typing"),
    composer: $("composer"),
    messageText: $("messageText"),
    sendBtn: $("sendBtn"),
    fileUrl: $("fileUrl"),
    fileName: $("fileName"),
    fileType: $("fileType"),
    fileSize: $("fileSize"),
    fileInput: $("fileInput"),
  };

  const state = {
    /** @type {any} */ socket: null,
    token: "",
    /** @type {{id: string, username: string | null} | null} */ me: null,
    /** Set when the user pressed Disconnect: no "reconnecting" status then. */
    userDisconnected: false,
    /** userId → {id, username, isOnline, lastSeen, presenceKnown} */
    users: new Map(),
    /** partnerId → {partnerId, lastMessage, unreadCount} */
    convs: new Map(),
    /** messageId → message, for every message this page has seen. */
    known: new Map(),
    /** Incoming messages that never counted as unread (they arrived while shown). */
    uncounted: new Set(),
    /** messageRead emits awaiting their ack. */
    readPending: new Set(),
    /** The open conversation, or null. */
    open: null,
    convRowEls: new Map(),
  };

  const typingOut = { active: false, partnerId: "", lastSent: 0, idleTimer: 0 };
  let typingInTimer = 0;
  let convRefreshTimer = 0;
  let openGeneration = 0;
  /** True while a picked file is being uploaded (the composer waits). */
  let uploading = false;

  // ---------------------------------------------------------------- helpers

  function h(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function uuid() {
    if (typeof crypto.randomUUID === "function") return crypto.randomUUID();
    // crypto.randomUUID needs a secure context; getRandomValues does not.
    const b = crypto.getRandomValues(new Uint8Array(16));
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${
      hex.slice(20)
    }`;
  }

  function decodeJwt(token) {
    const part = token.split(".")[1];
    if (!part) return null;
    try {
      const b64 = part.replace(/-/g, "+").replace(/_/g, "/");
      const padded = b64 + "=".repeat((4 - (b64.length % 4)) % 4);
      const bytes = Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
      const payload = JSON.parse(new TextDecoder().decode(bytes));
      return payload && typeof payload === "object" ? payload : null;
    } catch {
      return null;
    }
  }

  function claimText(value) {
    return typeof value === "string" && value.trim() !== "" ? value.trim() : null;
  }

  function sameDay(a, b) {
    return a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() &&
      a.getDate() === b.getDate();
  }

  function formatTime(iso) {
    const d = new Date(iso);
    if (Number.isNaN(d.getTime())) return "";
    const time = d.toLocaleTimeString(undefined, { hour: "2-digit", minute: "2-digit" });
    if (sameDay(d, new Date())) return time;
    return `${d.toLocaleDateString(undefined, { month: "short", day: "numeric" })} ${time}`;
  }

  function formatSize(bytes) {
    const n = Number(bytes);
    if (!Number.isFinite(n) || n < 0) return "size unknown";
    if (n < 1024) return `${n} B`;
    const units = ["KB", "MB", "GB", "TB"];
    let v = n / 1024;
    let i = 0;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
  }

  function safeHttpUrl(url) {
    try {
      const parsed = new URL(String(url));
      return parsed.protocol === "http:" || parsed.protocol === "https:" ? parsed.href : null;
    } catch {
      return null;
    }
  }

  function compareMessages(a, b) {
    if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
    if (a._id === b._id) return 0;
    return a._id < b._id ? -1 : 1;
  }

  function isMessage(m) {
    return m && typeof m === "object" && typeof m._id === "string" &&
      typeof m.senderId === "string" && typeof m.receiverId === "string";
  }

  function myId() {
    return state.me ? state.me.id : "";
  }

  function partnerOf(m) {
    return m.senderId === myId() ? m.receiverId : m.senderId;
  }

  function isConnected() {
    return Boolean(state.socket && state.socket.connected);
  }

  function pageVisible() {
    return document.visibilityState === "visible";
  }

  // ---------------------------------------------------------------- errors and status

  let lastErrorText = "";
  let lastErrorAt = 0;

  /** Shows `context: message (CODE)`; the same text twice within 1.5 s shows once. */
  function showError(context, err) {
    let message;
    let code;
    if (err && typeof err === "object") {
      message = err.error ?? err.message;
      code = err.code;
    } else if (err !== undefined) {
      message = String(err);
    }
    const text = `${context}: ${message || "unknown error"}${code ? ` (${code})` : ""}`;
    const now = Date.now();
    if (text === lastErrorText && now - lastErrorAt < 1500) return;
    lastErrorText = text;
    lastErrorAt = now;

    const item = h("div", "error");
    item.append(h("span", "error-text", text));
    const dismiss = h("button", "dismiss", "×");
    dismiss.type = "button";
    dismiss.setAttribute("aria-label", "Dismiss error");
    item.append(dismiss);
    el.errors.append(item);
    while (el.errors.children.length > MAX_ERRORS) el.errors.firstElementChild.remove();
  }

  el.errors.addEventListener("click", (event) => {
    const button = event.target.closest(".dismiss");
    if (button) button.closest(".error")?.remove();
  });

  function setStatus(text, kind) {
    el.status.textContent = text;
    el.status.className = `status status-${kind}`;
  }

  // ---------------------------------------------------------------- REST

  class ApiError extends Error {
    constructor(message, code, status) {
      super(message);
      this.code = code;
      this.status = status;
    }
  }

  async function api(method, path, { body, auth = true } = {}) {
    const headers = { Accept: "application/json" };
    if (auth) headers.Authorization = `Bearer ${state.token}`;
    if (body !== undefined) headers["Content-Type"] = "application/json";
    let res;
    try {
      res = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (err) {
      throw new ApiError(`network error (${err?.message ?? err})`, "NETWORK_ERROR", 0);
    }
    let data = null;
    try {
      data = await res.json();
    } catch {
      data = null;
    }
    if (!res.ok) {
      const message = data && typeof data.error === "string" ? data.error : `HTTP ${res.status}`;
      const code = data && typeof data.code === "string" ? data.code : `HTTP_${res.status}`;
      throw new ApiError(message, code, res.status);
    }
    return data;
  }

  // ---------------------------------------------------------------- attachments

  /** Uploads a File as a raw body; resolves with the `file` object to send. */
  async function uploadFile(file) {
    const headers = { Accept: "application/json", Authorization: `Bearer ${state.token}` };
    if (file.type) headers["Content-Type"] = file.type;
    let res;
    try {
      res = await fetch(`/api/uploads?name=${encodeURIComponent(file.name)}`, {
        method: "POST",
        headers,
        body: file,
      });
    } catch (err) {
      throw new ApiError(`network error (${err?.message ?? err})`, "NETWORK_ERROR", 0);
    }
    const data = await res.json().catch(() => null);
    if (!res.ok) {
      throw new ApiError(
        data?.error ?? `HTTP ${res.status}`,
        data?.code ?? `HTTP_${res.status}`,
        res.status,
      );
    }
    return data;
  }

  /** Files uploaded to this server need the token, so the page fetches them itself. */
  function isOwnUpload(url) {
    try {
      const parsed = new URL(url, location.href);
      return parsed.origin === location.origin && parsed.pathname.startsWith("/api/uploads/");
    } catch {
      return false;
    }
  }

  /** upload URL → blob: URL of its bytes, kept while the session lasts. */
  const uploadBlobs = new Map();

  async function fetchUpload(url) {
    const known = uploadBlobs.get(url);
    if (known) return known;
    const res = await fetch(url, { headers: { Authorization: `Bearer ${state.token}` } });
    if (!res.ok) {
      const data = await res.json().catch(() => null);
      throw new ApiError(
        data?.error ?? `HTTP ${res.status}`,
        data?.code ?? `HTTP_${res.status}`,
        res.status,
      );
    }
    const blobUrl = URL.createObjectURL(await res.blob());
    uploadBlobs.set(url, blobUrl);
    return blobUrl;
  }

  async function downloadUpload(url, name) {
    try {
      const link = h("a");
      link.href = await fetchUpload(url);
      link.download = name || "file";
      document.body.append(link);
      link.click();
      link.remove();
    } catch (err) {
      showError("Downloading file", err);
    }
  }

  async function showPreview(container, url, name) {
    try {
      const img = h("img", "file-preview");
      img.alt = name;
      img.src = await fetchUpload(url);
      container.append(img);
    } catch {
      // No preview (removed, or not ours to see); the link still explains.
    }
  }

  function forgetUploads() {
    for (const blobUrl of uploadBlobs.values()) URL.revokeObjectURL(blobUrl);
    uploadBlobs.clear();
  }

  // ---------------------------------------------------------------- users and conversations

  function user(id) {
    let u = state.users.get(id);
    if (!u) {
      u = { id, username: null, isOnline: false, lastSeen: null, presenceKnown: false };
      state.users.set(id, u);
    }
    return u;
  }

  function displayName(id) {
    return state.users.get(id)?.username || id;
  }

  function presenceText(id) {
    const u = state.users.get(id);
    if (!u || !u.presenceKnown) return "presence unknown (shared once you have chatted)";
    if (u.isOnline) return "online";
    return u.lastSeen ? `offline · last seen ${formatTime(u.lastSeen)}` : "offline";
  }

  function presenceClass(id) {
    const u = state.users.get(id);
    if (!u || !u.presenceKnown) return "unknown";
    return u.isOnline ? "online" : "offline";
  }

  function previewOf(m) {
    if (!m) return "No messages yet";
    const prefix = m.senderId === myId() ? "You: " : "";
    if (m.text) return prefix + m.text;
    if (m.file) return `${prefix}📎 ${m.file.name ?? "file"}`;
    return `${prefix}(empty message)`;
  }

  function conv(partnerId) {
    let c = state.convs.get(partnerId);
    if (!c) {
      c = { partnerId, lastMessage: null, unreadCount: 0 };
      state.convs.set(partnerId, c);
    }
    return c;
  }

  function sortedConvs() {
    return [...state.convs.values()].sort((a, b) => {
      const ta = a.lastMessage?.createdAt ?? "";
      const tb = b.lastMessage?.createdAt ?? "";
      if (ta !== tb) return ta < tb ? 1 : -1;
      return a.partnerId < b.partnerId ? -1 : 1;
    });
  }

  function buildConvRow(partnerId) {
    const li = h("li", "conversation");
    li.dataset.user = partnerId;
    const button = h("button", "conv-btn");
    button.type = "button";
    const dot = h("span", "dot");
    dot.setAttribute("aria-hidden", "true");
    const body = h("span", "conv-body");
    const top = h("span", "conv-top");
    const name = h("span", "name");
    const handle = h("span", "handle");
    const time = h("span", "conv-time");
    top.append(name, handle, time);
    const presence = h("span", "sr-only presence-label");
    const preview = h("span", "preview");
    body.append(top, presence, preview);
    const unread = h("span", "unread");
    const unreadLabel = h("span", "sr-only unread-label", " unread");
    button.append(dot, body, unread, unreadLabel);
    li.append(button);
    return li;
  }

  function renderConvRow(partnerId) {
    const c = state.convs.get(partnerId);
    if (!c) return;
    let li = state.convRowEls.get(partnerId);
    if (!li) {
      li = buildConvRow(partnerId);
      state.convRowEls.set(partnerId, li);
    }
    const presence = presenceClass(partnerId);
    li.classList.remove("online", "offline", "unknown");
    li.classList.add(presence);
    const dot = li.querySelector(".dot");
    dot.className = `dot ${presence}`;
    const u = state.users.get(partnerId);
    li.querySelector(".name").textContent = displayName(partnerId);
    const handle = li.querySelector(".handle");
    handle.textContent = u?.username && u.username !== partnerId ? partnerId : "";
    handle.hidden = handle.textContent === "";
    li.querySelector(".conv-time").textContent = c.lastMessage
      ? formatTime(c.lastMessage.createdAt)
      : "";
    li.querySelector(".presence-label").textContent = `, ${
      presence === "unknown" ? "presence unknown" : presence
    }, `;
    li.querySelector(".preview").textContent = previewOf(c.lastMessage);
    const unread = li.querySelector(".unread");
    const count = Math.max(0, c.unreadCount | 0);
    unread.textContent = String(count);
    unread.hidden = count === 0;
    li.querySelector(".unread-label").hidden = count === 0;
    const active = state.open?.partnerId === partnerId;
    li.classList.toggle("active", active);
    const button = li.querySelector(".conv-btn");
    if (active) button.setAttribute("aria-current", "true");
    else button.removeAttribute("aria-current");
  }

  /** Re-renders the rows and puts them in order, moving only rows that must move. */
  function renderConversations() {
    const ordered = sortedConvs();
    for (const [id, li] of state.convRowEls) {
      if (!state.convs.has(id)) {
        li.remove();
        state.convRowEls.delete(id);
      }
    }
    ordered.forEach((c, index) => {
      renderConvRow(c.partnerId);
      const li = state.convRowEls.get(c.partnerId);
      if (el.conversations.children[index] !== li) {
        el.conversations.insertBefore(li, el.conversations.children[index] ?? null);
      }
    });
    el.conversationsEmpty.hidden = ordered.length > 0;
  }

  async function loadConversations() {
    if (!state.token) return;
    try {
      const rows = await api("GET", `/api/chats/conversations?limit=${CONVERSATIONS_LIMIT}&skip=0`);
      if (!Array.isArray(rows)) return;
      const next = new Map();
      for (const row of rows) {
        const summary = row?.user;
        if (!summary || typeof summary._id !== "string") continue;
        const u = user(summary._id);
        u.username = summary.username ?? u.username;
        u.isOnline = Boolean(summary.isOnline);
        u.lastSeen = summary.lastSeen ?? null;
        u.presenceKnown = true;
        const last = isMessage(row.lastMessage) ? remember(row.lastMessage) : null;
        next.set(summary._id, {
          partnerId: summary._id,
          lastMessage: last,
          unreadCount: Number(row.unreadCount) || 0,
        });
      }
      // Keep locally known rows the server did not list yet (e.g. a brand new chat).
      for (const [id, c] of state.convs) if (!next.has(id) && c.lastMessage) next.set(id, c);
      state.convs = next;
      renderConversations();
      renderPartnerHeader();
      markVisibleRead();
    } catch (err) {
      showError("Loading conversations", err);
    }
  }

  function scheduleConversationsRefresh() {
    clearTimeout(convRefreshTimer);
    convRefreshTimer = setTimeout(loadConversations, 300);
  }

  // ---------------------------------------------------------------- messages

  /** Stores or merges a message; returns the stored copy. */
  function remember(m) {
    const existing = state.known.get(m._id);
    if (!existing) {
      const copy = { ...m };
      state.known.set(m._id, copy);
      return copy;
    }
    if (m.deliveredAt && !existing.deliveredAt) existing.deliveredAt = m.deliveredAt;
    if (m.readAt && !existing.readAt) applyRead(existing, m.readAt);
    return existing;
  }

  function tickState(m) {
    if (m.readAt) return "read";
    if (m.deliveredAt) return "delivered";
    return "sent";
  }

  function bubbleFor(id) {
    return el.messages.querySelector(`li[data-id="${CSS.escape(id)}"]`);
  }

  function buildBubble(m) {
    const mine = m.senderId === myId();
    const li = h("li", `message ${mine ? "mine" : "theirs"}`);
    li.dataset.id = m._id;
    const bubble = h("div", "bubble");
    if (m.text) bubble.append(h("p", "text", m.text));
    if (m.file && typeof m.file === "object") {
      const file = h("div", "file");
      const href = safeHttpUrl(m.file.url);
      const name = m.file.name || "file";
      let link;
      if (href) {
        link = h("a", "file-link", name);
        link.href = href;
        link.target = "_blank";
        link.rel = "noopener noreferrer";
      } else {
        link = h("span", "file-link", name);
      }
      file.append(h("span", "file-icon", "📎"), link);
      file.append(
        h("span", "file-meta", ` (${m.file.type ?? "file"}, ${formatSize(m.file.size)})`),
      );
      if (href && isOwnUpload(href)) {
        // Clicked: fetched with the token and saved; images also show a preview.
        link.dataset.upload = href;
        link.removeAttribute("target");
        if (m.file.type === "image") void showPreview(file, href, name);
      }
      bubble.append(file);
    }
    const meta = h("div", "meta");
    const time = h("time", "time", formatTime(m.createdAt));
    time.dateTime = m.createdAt;
    time.title = new Date(m.createdAt).toLocaleString();
    meta.append(time);
    if (mine) {
      const ticks = h("span", "ticks");
      meta.append(ticks);
      const del = h("button", "delete", "Delete");
      del.type = "button";
      del.setAttribute("aria-label", "Delete message");
      meta.append(del);
    }
    li.append(bubble, meta);
    updateBubble(li, m);
    return li;
  }

  function updateBubble(li, m) {
    const ticks = li.querySelector(".ticks");
    if (!ticks) return;
    const s = tickState(m);
    ticks.textContent = s;
    ticks.dataset.state = s;
    ticks.title = s === "read" && m.readAt
      ? `read ${new Date(m.readAt).toLocaleString()}`
      : s === "delivered" && m.deliveredAt
      ? `delivered ${new Date(m.deliveredAt).toLocaleString()}`
      : "sent";
  }

  function nearBottom() {
    const box = el.history;
    return box.scrollHeight - box.scrollTop - box.clientHeight < 80;
  }

  function scrollToBottom() {
    el.history.scrollTop = el.history.scrollHeight;
  }

  /** Adds messages of the open conversation to the list, in order, once each. */
  function showMessages(list, { prepend = false } = {}) {
    const open = state.open;
    if (!open) return;
    const stick = nearBottom();
    const box = el.history;
    const fromBottom = box.scrollHeight - box.scrollTop;
    let addedMine = false;
    for (const raw of list) {
      if (!isMessage(raw) || partnerOf(raw) !== open.partnerId) continue;
      const m = remember(raw);
      if (open.messages.has(m._id)) {
        const li = bubbleFor(m._id);
        if (li) updateBubble(li, m);
        continue;
      }
      open.messages.set(m._id, m);
      const li = buildBubble(m);
      // Most messages go last; walk back to the first bubble not newer than this one.
      let after = el.messages.lastElementChild;
      while (after && compareMessages(open.messages.get(after.dataset.id) ?? m, m) > 0) {
        after = after.previousElementSibling;
      }
      el.messages.insertBefore(li, after ? after.nextElementSibling : el.messages.firstChild);
      if (m.senderId === myId()) addedMine = true;
    }
    renderMessagesEmpty();
    if (prepend) box.scrollTop = box.scrollHeight - fromBottom;
    else if (stick || addedMine) scrollToBottom();
  }

  function removeMessage(messageId) {
    const m = state.known.get(messageId);
    state.known.delete(messageId);
    state.uncounted.delete(messageId);
    if (state.open?.messages.delete(messageId)) {
      bubbleFor(messageId)?.remove();
      renderMessagesEmpty();
    }
    if (m) {
      const c = state.convs.get(partnerOf(m));
      if (c && c.lastMessage?._id === messageId) {
        // Show the previous loaded message at once; the server has the final word.
        c.lastMessage = state.open?.partnerId === c.partnerId
          ? [...state.open.messages.values()].sort(compareMessages).at(-1) ?? null
          : null;
        renderConversations();
      }
    }
    scheduleConversationsRefresh();
  }

  function renderMessagesEmpty() {
    if (!state.open) {
      el.messagesEmpty.textContent = "Connect, then pick a conversation or start a new chat.";
      el.messagesEmpty.hidden = false;
      return;
    }
    el.messagesEmpty.textContent = "No messages yet. Say hi!";
    el.messagesEmpty.hidden = state.open.messages.size > 0;
  }

  /** A message arrived by socket (receiveMessage, messageSent) or by an ack. */
  function ingest(raw) {
    if (!isMessage(raw) || !state.me) return;
    const isNew = !state.known.has(raw._id);
    const m = remember(raw);
    const partnerId = partnerOf(m);
    const c = conv(partnerId);
    const wasRow = state.convRowEls.has(partnerId);
    if (!c.lastMessage || compareMessages(c.lastMessage, m) <= 0) c.lastMessage = m;
    const incoming = m.receiverId === myId() && m.senderId !== myId();
    const shown = state.open?.partnerId === partnerId;
    if (isNew && incoming && !m.readAt) {
      if (shown && pageVisible()) state.uncounted.add(m._id);
      else c.unreadCount += 1;
    }
    if (shown) {
      if (incoming) hidePartnerTyping();
      showMessages([m]);
    }
    renderConversations();
    if (!wasRow || !state.users.get(partnerId)?.presenceKnown) scheduleConversationsRefresh();
    markVisibleRead();
  }

  /** A message became read: tick, unread badge. Idempotent. */
  function applyRead(m, readAt) {
    if (m.readAt) return;
    m.readAt = readAt;
    if (m.receiverId === myId()) {
      if (state.uncounted.has(m._id)) state.uncounted.delete(m._id);
      else {
        const c = state.convs.get(m.senderId);
        if (c && c.unreadCount > 0) c.unreadCount -= 1;
      }
      renderConvRow(m.senderId);
    }
    const li = bubbleFor(m._id);
    if (li) updateBubble(li, m);
  }

  function onReadReceipt(receipt) {
    if (!receipt || typeof receipt.messageId !== "string") return;
    const m = state.known.get(receipt.messageId);
    if (!m) {
      // Read in another tab of ours: the badge count comes from the server.
      if (receipt.readerId === myId()) scheduleConversationsRefresh();
      return;
    }
    applyRead(m, receipt.readAt || new Date().toISOString());
  }

  /** Marks every shown, unread message from the partner read (page visible only). */
  function markVisibleRead() {
    const open = state.open;
    if (!open || !isConnected() || !pageVisible()) return;
    for (const m of open.messages.values()) {
      if (m.senderId !== open.partnerId || m.receiverId !== myId() || m.readAt) continue;
      if (state.readPending.has(m._id)) continue;
      state.readPending.add(m._id);
      const id = m._id;
      state.socket.timeout(ACK_TIMEOUT_MS).emit("messageRead", { messageId: id }, (err, res) => {
        state.readPending.delete(id);
        if (err) {
          return showError("messageRead", { error: "no answer from server", code: "TIMEOUT" });
        }
        if (!res?.ok) return showError("messageRead", res);
        onReadReceipt(res);
      });
    }
  }

  // ---------------------------------------------------------------- open conversation

  function renderPartnerHeader() {
    const open = state.open;
    if (!open) {
      el.partnerName.textContent = "No conversation open";
      el.partnerName.removeAttribute("title");
      el.partnerStatus.textContent = "";
      el.partnerStatus.className = "presence muted";
      return;
    }
    el.partnerName.textContent = displayName(open.partnerId);
    el.partnerName.title = open.partnerId;
    el.partnerStatus.textContent = presenceText(open.partnerId);
    el.partnerStatus.className = `presence ${presenceClass(open.partnerId)}`;
  }

  function updateOlderButton() {
    const open = state.open;
    el.loadOlderBtn.hidden = !open || !open.hasOlder;
    el.loadOlderBtn.disabled = !open || open.loading || !isConnected();
  }

  function updateControls() {
    const connected = isConnected();
    const canChat = connected && Boolean(state.open);
    el.disconnectBtn.disabled = !state.socket;
    el.partnerId.disabled = !connected;
    el.openChatBtn.disabled = !connected;
    for (
      const input of [
        el.messageText,
        el.sendBtn,
        el.fileUrl,
        el.fileName,
        el.fileType,
        el.fileSize,
        el.fileInput,
      ]
    ) {
      input.disabled = !canChat || uploading;
    }
    updateOlderButton();
  }

  function closeConversation() {
    stopTyping();
    hidePartnerTyping();
    state.open = null;
    openGeneration++;
    el.messages.replaceChildren();
    renderPartnerHeader();
    renderMessagesEmpty();
    renderConversations();
    updateControls();
  }

  function openConversation(rawId) {
    const partnerId = String(rawId ?? "").trim();
    if (!state.me) return showError("New chat", { error: "connect first" });
    if (!partnerId) {
      return showError("New chat", { error: "enter a user id", code: "VALIDATION_ERROR" });
    }
    if (partnerId.length > 128) {
      return showError("New chat", {
        error: "user id is too long (max 128)",
        code: "VALIDATION_ERROR",
      });
    }
    if (partnerId === myId()) {
      return showError("New chat", {
        error: "you cannot chat with yourself",
        code: "VALIDATION_ERROR",
      });
    }
    if (state.open?.partnerId === partnerId) {
      el.messageText.focus();
      return;
    }
    stopTyping();
    hidePartnerTyping();
    user(partnerId);
    state.open = {
      partnerId,
      messages: new Map(),
      hasOlder: false,
      loading: false,
      generation: ++openGeneration,
    };
    el.messages.replaceChildren();
    renderPartnerHeader();
    renderMessagesEmpty();
    renderConversations();
    updateControls();
    el.messageText.focus();
    void loadHistory({ older: false });
  }

  async function loadHistory({ older }) {
    const open = state.open;
    if (!open || open.loading) return;
    const params = new URLSearchParams({ limit: String(HISTORY_LIMIT) });
    if (older) {
      const oldest = [...open.messages.values()].sort(compareMessages)[0];
      if (!oldest) return;
      params.set("before", oldest._id);
    }
    const firstPage = !older && open.messages.size === 0;
    open.loading = true;
    updateOlderButton();
    try {
      const list = await api(
        "GET",
        `/api/chats/history/${encodeURIComponent(open.partnerId)}?${params}`,
      );
      if (state.open !== open || open.generation !== openGeneration) return;
      const page = Array.isArray(list) ? list : [];
      if (older || firstPage) open.hasOlder = page.length >= HISTORY_LIMIT;
      showMessages(page, { prepend: older });
      if (firstPage) scrollToBottom();
      markVisibleRead();
    } catch (err) {
      if (state.open === open) showError(older ? "Loading older messages" : "Loading history", err);
    } finally {
      open.loading = false;
      if (state.open === open) updateOlderButton();
    }
  }

  // ---------------------------------------------------------------- typing

  function emitTyping(partnerId, isTyping) {
    if (!isConnected() || !partnerId) return;
    state.socket.emit("typing", { receiverId: partnerId, isTyping });
  }

  function onComposerInput() {
    const open = state.open;
    if (!open || !isConnected()) return;
    if (el.messageText.value.trim() === "") {
      stopTyping();
      return;
    }
    const now = Date.now();
    if (
      !typingOut.active || typingOut.partnerId !== open.partnerId ||
      now - typingOut.lastSent >= TYPING_THROTTLE_MS
    ) {
      if (typingOut.active && typingOut.partnerId !== open.partnerId) stopTyping();
      emitTyping(open.partnerId, true);
      typingOut.active = true;
      typingOut.partnerId = open.partnerId;
      typingOut.lastSent = now;
    }
    clearTimeout(typingOut.idleTimer);
    typingOut.idleTimer = setTimeout(stopTyping, TYPING_IDLE_MS);
  }

  function stopTyping() {
    clearTimeout(typingOut.idleTimer);
    if (!typingOut.active) return;
    typingOut.active = false;
    emitTyping(typingOut.partnerId, false);
  }

  function hidePartnerTyping() {
    clearTimeout(typingInTimer);
    el.typing.hidden = true;
    el.typing.textContent = "";
  }

  function onUserTyping(payload) {
    if (!payload || typeof payload.userId !== "string") return;
    if (state.open?.partnerId !== payload.userId) return;
    if (!payload.isTyping) return hidePartnerTyping();
    el.typing.textContent = `${displayName(payload.userId)} is typing…`;
    el.typing.hidden = false;
    clearTimeout(typingInTimer);
    typingInTimer = setTimeout(hidePartnerTyping, TYPING_EXPIRE_MS);
  }

  // ---------------------------------------------------------------- sending and deleting

  function readFileFields() {
    const url = el.fileUrl.value.trim();
    if (!url) return null;
    if (!safeHttpUrl(url)) throw new Error("file URL must be an http(s) URL");
    let name = el.fileName.value.trim();
    if (!name) {
      try {
        name = decodeURIComponent(new URL(url).pathname.split("/").filter(Boolean).at(-1) ?? "");
      } catch {
        name = "";
      }
    }
    if (!name) throw new Error("file name is required");
    const size = Number(el.fileSize.value);
    if (!Number.isSafeInteger(size) || size <= 0) {
      throw new Error("file size must be a whole number of bytes above 0");
    }
    return { url, type: el.fileType.value, name: name.slice(0, 255), size };
  }

  function clearFileFields() {
    el.fileUrl.value = "";
    el.fileName.value = "";
    el.fileSize.value = "";
  }

  async function sendMessage() {
    const open = state.open;
    if (!open || !isConnected() || uploading) return;
    const text = el.messageText.value.trim();
    const picked = el.fileInput.files?.[0] ?? null;
    let file;
    try {
      file = picked ? null : readFileFields();
    } catch (err) {
      return showError("Attachment", { error: err.message, code: "VALIDATION_ERROR" });
    }
    if (!text && !file && !picked) return;
    if (picked) {
      uploading = true;
      updateControls();
      try {
        file = await uploadFile(picked);
        el.fileInput.value = "";
      } catch (err) {
        return showError("Uploading file", err);
      } finally {
        uploading = false;
        updateControls();
      }
      if (!isConnected()) return showError("sendMessage", { error: "disconnected during upload" });
    }
    const payload = { receiverId: open.partnerId, clientMessageId: uuid() };
    if (text) payload.text = text;
    if (file) payload.file = file;
    stopTyping();
    el.messageText.value = "";
    if (file) clearFileFields();
    state.socket.timeout(ACK_TIMEOUT_MS).emit("sendMessage", payload, (err, res) => {
      if (err || !res?.ok) {
        showError("sendMessage", err ? { error: "no answer from server", code: "TIMEOUT" } : res);
        // Give the text back so that nothing typed is lost.
        if (text && state.open === open && el.messageText.value === "") el.messageText.value = text;
        return;
      }
      ingest(res.message);
    });
  }

  async function deleteMessage(messageId, button) {
    button.disabled = true;
    try {
      const res = await api("DELETE", `/api/chats/${encodeURIComponent(messageId)}`);
      removeMessage(res?.messageId ?? messageId);
    } catch (err) {
      button.disabled = false;
      showError("Deleting message", err);
    }
  }

  // ---------------------------------------------------------------- connection

  function resetSession() {
    closeConversation();
    forgetUploads();
    state.users.clear();
    state.convs.clear();
    state.known.clear();
    state.uncounted.clear();
    state.readPending.clear();
    for (const li of state.convRowEls.values()) li.remove();
    state.convRowEls.clear();
    renderConversations();
  }

  function teardownSocket() {
    const socket = state.socket;
    if (!socket) return;
    stopTyping();
    state.socket = null;
    socket.off();
    socket.disconnect();
  }

  async function fetchDevToken() {
    const userId = el.userId.value.trim();
    if (!userId) {
      showError("Dev token", { error: "enter a user id first", code: "VALIDATION_ERROR" });
      el.userId.focus();
      return null;
    }
    const body = { userId };
    const username = el.username.value.trim();
    if (username) body.username = username;
    try {
      const res = await api("POST", "/api/dev/token", { body, auth: false });
      if (!res || typeof res.token !== "string") {
        throw new ApiError("no token in answer", "INTERNAL_ERROR", 200);
      }
      el.token.value = res.token;
      return res.token;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        showError("Dev token", {
          error: "dev tokens are disabled (the server is not in dev mode); paste a JWT instead",
          code: err.code,
        });
      } else {
        showError("Dev token", err);
      }
      return null;
    }
  }

  async function connect() {
    if (typeof globalThis.io !== "function") {
      showError("Connect", {
        error: "the Socket.IO client did not load (/socket.io/socket.io.min.js)",
      });
      return;
    }
    let token = el.token.value.trim().replace(/^Bearer\s+/i, "");
    if (!token) {
      if (!el.userId.value.trim()) {
        showError("Connect", {
          error: "paste a token, or enter a user id and get a dev token",
          code: "VALIDATION_ERROR",
        });
        return;
      }
      token = await fetchDevToken();
      if (!token) return;
    }
    const claims = decodeJwt(token);
    const sub = claims ? claimText(claims.sub) : null;
    if (!sub) {
      showError("Connect", {
        error: "the token is not a JWT with a sub claim",
        code: "VALIDATION_ERROR",
      });
      return;
    }
    const username = claimText(claims.username) ?? claimText(claims.preferred_username) ??
      claimText(claims.name);

    teardownSocket();
    if (state.me?.id !== sub) resetSession();
    state.me = { id: sub, username };
    state.token = token;
    state.userDisconnected = false;
    if (!el.userId.value.trim()) el.userId.value = sub;
    setStatus(`connecting as ${sub}…`, "connecting");

    const socket = globalThis.io({ auth: { token }, forceNew: true });
    state.socket = socket;
    wireSocket(socket);
    updateControls();
  }

  function disconnect() {
    state.userDisconnected = true;
    teardownSocket();
    hidePartnerTyping();
    setStatus("disconnected", "disconnected");
    updateControls();
  }

  function connectedLabel() {
    const me = state.me;
    if (!me) return "connected";
    return me.username && me.username !== me.id
      ? `connected as ${me.id} (${me.username})`
      : `connected as ${me.id}`;
  }

  function wireSocket(socket) {
    const current = () => state.socket === socket;

    socket.on("connect", () => {
      if (!current()) return;
      setStatus(connectedLabel(), "connected");
      updateControls();
      void loadConversations();
      if (state.open) void loadHistory({ older: false });
    });

    socket.on("connect_error", (err) => {
      if (!current()) return;
      if (err?.message === "unauthorized") {
        const detail = err.data?.error ?? "missing, invalid or expired token";
        setStatus(`error: unauthorized (${detail})`, "error");
        showError("Connect", {
          error: `token refused: ${detail}`,
          code: err.data?.code ?? "UNAUTHORIZED",
        });
      } else {
        const retrying = socket.active ? "; retrying…" : "";
        setStatus(`error: ${err?.message ?? "connection failed"}${retrying}`, "error");
      }
      updateControls();
    });

    socket.on("disconnect", (reason) => {
      if (!current()) return;
      stopTyping();
      hidePartnerTyping();
      if (state.userDisconnected) setStatus("disconnected", "disconnected");
      else if (socket.active) setStatus(`disconnected (${reason}); reconnecting…`, "connecting");
      else setStatus(`disconnected (${reason})`, "disconnected");
      updateControls();
    });

    socket.on("receiveMessage", (m, ack) => {
      if (!current()) return;
      ingest(m);
      // Shown (or at least stored on this page): the sender's tick turns "delivered".
      if (typeof ack === "function") ack();
    });
    socket.on("messageSent", (m) => current() && ingest(m));
    socket.on("chatHistory", (list) => {
      if (current() && Array.isArray(list)) {
        showMessages(list);
        markVisibleRead();
      }
    });
    socket.on("messageRead", (receipt) => current() && onReadReceipt(receipt));
    socket.on("messageDelivered", (payload) => {
      if (!current() || !payload || typeof payload.messageId !== "string") return;
      const m = state.known.get(payload.messageId);
      if (!m || m.deliveredAt) return;
      m.deliveredAt = payload.deliveredAt || new Date().toISOString();
      const li = bubbleFor(m._id);
      if (li) updateBubble(li, m);
    });
    socket.on("messageDeleted", (payload) => {
      if (current() && payload && typeof payload.messageId === "string") {
        removeMessage(payload.messageId);
      }
    });
    socket.on("userOnline", (p) => {
      if (!current() || !p || typeof p.userId !== "string") return;
      const u = user(p.userId);
      u.isOnline = Boolean(p.isOnline);
      u.lastSeen = p.lastSeen ?? u.lastSeen;
      u.presenceKnown = true;
      renderConvRow(p.userId);
      if (state.open?.partnerId === p.userId) {
        renderPartnerHeader();
        if (!u.isOnline) hidePartnerTyping();
      }
    });
    socket.on("userTyping", (p) => current() && onUserTyping(p));
    socket.on("messageError", (e) => {
      if (current()) showError(e?.event ?? "Server", e);
    });
  }

  // ---------------------------------------------------------------- events

  el.signinForm.addEventListener("submit", (event) => {
    event.preventDefault();
    void connect();
  });
  el.devTokenBtn.addEventListener("click", () => void fetchDevToken());
  el.disconnectBtn.addEventListener("click", disconnect);

  el.newChatForm.addEventListener("submit", (event) => {
    event.preventDefault();
    const id = el.partnerId.value;
    openConversation(id);
    if (state.open?.partnerId === id.trim()) el.partnerId.value = "";
  });

  el.conversations.addEventListener("click", (event) => {
    const li = event.target.closest("li[data-user]");
    if (li && el.conversations.contains(li)) openConversation(li.dataset.user);
  });

  el.messages.addEventListener("click", (event) => {
    const button = event.target.closest(".delete");
    if (!button) return;
    const li = button.closest("li[data-id]");
    if (li) void deleteMessage(li.dataset.id, button);
  });

  el.loadOlderBtn.addEventListener("click", () => void loadHistory({ older: true }));

  el.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    void sendMessage();
  });
  el.messages.addEventListener("click", (event) => {
    const link = event.target.closest("a.file-link[data-upload]");
    if (!link) return;
    event.preventDefault();
    void downloadUpload(link.dataset.upload, link.textContent);
  });
  el.messageText.addEventListener("input", onComposerInput);
  el.messageText.addEventListener("blur", () => {
    if (el.messageText.value.trim() === "") stopTyping();
  });

  document.addEventListener("visibilitychange", () => {
    if (pageVisible()) markVisibleRead();
    else stopTyping();
  });
  globalThis.addEventListener("focus", markVisibleRead);
  globalThis.addEventListener("pagehide", stopTyping);

  globalThis.addEventListener("unhandledrejection", (event) => {
    showError(
      "Page",
      event.reason instanceof Error ? event.reason : { error: String(event.reason) },
    );
  });

  setStatus("disconnected", "disconnected");
  renderConversations();
  renderPartnerHeader();
  renderMessagesEmpty();
  updateControls();
})();
