// @ts-check
/// <reference lib="dom" />
/**
 * Puts the chat into a container (the page's body, or a <parley-chat> shadow
 * root) and wires its parts: the connection, the conversation list, the
 * message list, the composer, search, the report dialog, groups (their panel
 * and read-by dialog) and the toast. The parts do not know each other;
 * what one does to another goes through here.
 */
import { createApi, fetchDevToken } from "./api.js";
import { Composer } from "./composer.js";
import { Connection, TokenSource } from "./connection.js";
import { ConversationList } from "./conversation_list.js";
import { pick } from "./dom.js";
import { compareMessages, isMessage } from "./format.js";
import { GroupPanel } from "./group_panel.js";
import {
  conversationKeyOf,
  GroupDirectory,
  groupIdOf,
  groupKey,
  GroupReadPointer,
  isIncoming,
} from "./groups.js";
import { chatMarkup } from "./layout.js";
import { MessageList } from "./message_list.js";
import { Notifier } from "./notifications.js";
import { Outbox } from "./outbox.js";
import { applyReaction, hasReacted } from "./reactions.js";
import { ReadByDialog, readByLabel } from "./read_by_dialog.js";
import { ReportDialog } from "./report_dialog.js";
import { SearchPanel } from "./search_panel.js";
import { createToast, describeError } from "./toast.js";
import { UploadCache } from "./uploads.js";

/** @typedef {import("../../src/protocol/types.ts").ChatMessage} ChatMessage */
/** @typedef {import("../../src/protocol/types.ts").ConversationRow} ConversationRow */
/** @typedef {import("../../src/protocol/types.ts").GroupConversationRow} GroupConversationRow */
/** @typedef {import("../../src/protocol/types.ts").Group} Group */
/** @typedef {import("../../src/protocol/types.ts").GroupReadPayload} GroupReadPayload */
/** @typedef {import("./connection.js").ParleyClient} ParleyClient */
/** @typedef {import("./connection.js").Status} Status */

const HISTORY_LIMIT = 50;
const CONVERSATIONS_LIMIT = 100;
const READ_TIMEOUT_MS = 10_000;
/** Events this page always sends with an ack, which reports their failures. */
const ACKED_EVENTS = new Set([
  "sendMessage",
  "messageRead",
  "editMessage",
  "addReaction",
  "removeReaction",
  "blockUser",
  "unblockUser",
  "createGroup",
  "addGroupMembers",
  "removeGroupMember",
  "leaveGroup",
  "renameGroup",
  "markGroupRead",
]);
/** Edits, reactions and blocks wait this long for the server's answer. */
const ACTION_TIMEOUT_MS = 10_000;
const TYPING_EXPIRE_MS = 5000;
/** sessionStorage key of the page's sign-in, so a reload reconnects. */
const SESSION_KEY = "parley.session";

/**
 * @typedef {object} ChatOptions
 * @property {string} server Parley's origin.
 * @property {boolean} signIn Show the sign-in form (the page) or not (an embed gets its token).
 * @property {boolean} [remember] Keep the sign-in in sessionStorage.
 */

/**
 * @param {ParentNode & Node} container Where the chat goes (its content is replaced).
 * @param {ChatOptions} options
 */
export function mountChat(container, options) {
  const host = document.createElement("div");
  host.className = "parley";
  host.innerHTML = chatMarkup({ signIn: options.signIn });
  container.append(host);
  const $ = (/** @type {string} */ id) => pick(host, `#${id}`, HTMLElement);
  const input = (/** @type {string} */ id) => pick(host, `#${id}`, HTMLInputElement);
  const button = (/** @type {string} */ id) => pick(host, `#${id}`, HTMLButtonElement);

  const app = pick(host, ".parley-app", HTMLElement);
  const statusEl = $("status");
  const toast = createToast($("toast"));
  const showError = (/** @type {string} */ what, /** @type {unknown} */ err) =>
    toast.show(what, describeError(what, err));

  let tokens = new TokenSource("");
  const api = createApi(options.server, () => tokens.get());
  const uploads = new UploadCache(api);
  /** Every message this page has seen, by id: one copy, merged. */
  const known = /** @type {Map<string, ChatMessage>} */ (new Map());
  /** The reader's groups, and who read what in them. */
  const groups = new GroupDirectory();
  const lookup = (/** @type {string} */ id) => known.get(id);
  /** messageRead requests in flight. */
  const reading = new Set();
  let openPartner = "";
  let openGeneration = 0;
  let loadingHistory = false;
  let hasOlder = false;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let typingTimer;
  /** @type {ReturnType<typeof setTimeout> | undefined} */
  let refreshTimer;
  let pendingPartner = "";
  /** A message to show once the open conversation's history has loaded (a search result). */
  let pendingJump = "";

  const connection = new Connection({
    server: options.server,
    get tokens() {
      return tokens;
    },
    onStatus: renderStatus,
    onError: (what, err) => {
      showError(what, err);
      if (what === "Connect") forgetSession();
    },
    onIdentity: (me) => {
      if (conversations.me !== me.id) {
        conversations.reset(me.id);
        known.clear();
        groups.clear();
        groupReads.clear();
        outbox.clear();
        uploads.clear();
        closeConversation();
      }
    },
    onConnected: () => {
      toast.clear("Connect");
      toast.clear("Server");
      void loadConversations();
      void loadBlocked();
      if (openPartner) void loadHistory(false);
      outbox.resendPending();
      if (!announced) {
        announced = true;
        void notifier.signedIn();
      }
      if (pendingPartner) {
        openConversation(pendingPartner);
        pendingPartner = "";
      }
    },
  });

  const conversations = new ConversationList(
    { list: pick(host, "#conversations", HTMLUListElement), empty: $("conversationsEmpty") },
    (id) => openConversation(id),
    groups,
  );
  const messages = new MessageList(
    {
      history: $("history"),
      list: pick(host, "#messages", HTMLUListElement),
      newMessages: button("newMessagesBtn"),
    },
    uploads,
    {
      seen: markRead,
      deleteMessage: (id) => void deleteMessage(id),
      retry: (clientMessageId) => outbox.retry(clientMessageId),
      act: (choice, m) => void act(choice, m),
      nameOf: (id) => conversations.displayName(id),
      readBy: (m, trigger) => void showReadBy(m, trigger),
    },
  );
  const outbox = new Outbox(connection, {
    changed: (o) => {
      messages.showOutgoing(o);
      if (o.state === "failed") showError("Sending", { error: o.error ?? "not sent" });
    },
    stored: (o, stored) => {
      toast.clear("Sending");
      messages.settleOutgoing(o, stored);
      ingest(stored);
    },
  });
  const notifier = new Notifier({
    button: button("notifyBtn"),
    api,
    events: host,
    webPush: options.signIn,
    onOpen: (partnerId) => openConversation(partnerId),
  });
  let announced = false;
  const composer = new Composer(
    {
      form: pick(host, "#composer", HTMLFormElement),
      text: pick(host, "#messageText", HTMLTextAreaElement),
      send: button("sendBtn"),
      fileInput: input("fileInput"),
      dropZone: pick(host, ".chat", HTMLElement),
      attachment: $("attachment"),
      byUrl: pick(host, "#byUrl", HTMLDetailsElement),
      fileUrl: input("fileUrl"),
      fileName: input("fileName"),
      fileType: pick(host, "#fileType", HTMLSelectElement),
      fileSize: input("fileSize"),
      context: $("composeContext"),
    },
    api,
    {
      send: (text, file, replyTo) => openPartner && outbox.send(openPartner, text, file, replyTo),
      edit: (messageId, text) => void editMessage(messageId, text),
      typing: (isTyping) => {
        if (openPartner && connection.connected) {
          const groupId = groupIdOf(openPartner);
          connection.socket?.emit(
            "typing",
            groupId ? { groupId, isTyping } : { receiverId: openPartner, isTyping },
          );
        }
      },
      error: showError,
      ok: (what) => toast.clear(what),
    },
  );

  const search = new SearchPanel(
    {
      form: pick(host, "#searchForm", HTMLFormElement),
      input: input("searchText"),
      clear: button("searchClear"),
      status: $("searchStatus"),
      results: pick(host, "#searchResults", HTMLUListElement),
    },
    api,
    {
      open: (partnerId, messageId) => {
        if (partnerId === openPartner && messages.jumpTo(messageId)) {
          app.dataset.view = "chat";
          return;
        }
        pendingJump = messageId;
        openConversation(partnerId);
      },
      nameOf: (id) => conversations.displayName(id),
      me: () => connection.me?.id ?? "",
      error: showError,
    },
  );
  const reportDialog = new ReportDialog(pick(host, "#reportDialog", HTMLDialogElement));
  const readByDialog = new ReadByDialog(
    pick(host, "#readByDialog", HTMLDialogElement),
    (id) => conversations.displayName(id),
  );
  const groupReads = new GroupReadPointer(connection, applyGroupRead, (err) => {
    showError("markGroupRead", err);
  });
  const groupPanel = new GroupPanel(
    {
      newGroup: pick(host, "#newGroup", HTMLDetailsElement),
      newGroupForm: pick(host, "#newGroupForm", HTMLFormElement),
      groupName: input("groupName"),
      groupPeople: input("groupPeople"),
      createGroup: button("createGroupBtn"),
      membersButton: button("membersBtn"),
      panel: $("groupPanel"),
      members: pick(host, "#groupMembers", HTMLUListElement),
      addForm: pick(host, "#addPeopleForm", HTMLFormElement),
      addPeople: input("addPeople"),
      renameForm: pick(host, "#renameGroupForm", HTMLFormElement),
      rename: input("renameGroup"),
      leave: button("leaveGroupBtn"),
    },
    connection,
    {
      me: () => connection.me?.id ?? "",
      nameOf: (id) => conversations.displayName(id),
      changed: applyGroup,
      created: (group) => openConversation(groupKey(group._id)),
      left: (groupId) => dropGroup(groupId),
      error: showError,
      ok: (what) => toast.clear(what),
    },
  );

  // ------------------------------------------------------------ status and controls

  /** @param {Status} status */
  function renderStatus(status) {
    statusEl.textContent = status.text;
    statusEl.dataset.kind = status.kind;
    if (status.kind !== "connected") hidePartnerTyping();
    updateControls();
  }

  function updateControls() {
    const connected = connection.connected;
    const active = connection.socket !== null;
    input("partnerId").disabled = !connected;
    button("openChatBtn").disabled = !connected;
    const blocked = openPartner !== "" && conversations.blocked.has(openPartner);
    composer.setEnabled(connected && openPartner !== "" && !blocked);
    search.setEnabled(connected);
    groupPanel.setEnabled(connected);
    const older = button("loadOlderBtn");
    older.hidden = !openPartner || !hasOlder;
    older.disabled = !connected || loadingHistory;
    if (options.signIn) {
      button("connectBtn").disabled = active;
      button("disconnectBtn").disabled = !active;
      for (const id of ["userId", "username"]) input(id).disabled = active;
      pick(host, "#token", HTMLTextAreaElement).disabled = active;
      button("devTokenBtn").disabled = active;
      // Signed in, the form folds to its buttons: the chat gets the room.
      pick(host, ".signin", HTMLElement).classList.toggle("signed-in", active);
    }
    renderEmpty();
  }

  function renderEmpty() {
    const empty = $("messagesEmpty");
    if (!openPartner) {
      empty.textContent = connection.socket
        ? "Pick a conversation or start a new chat."
        : "Sign in to chat.";
      empty.hidden = false;
    } else {
      empty.textContent = "No messages yet. Say hi!";
      empty.hidden = messages.size > 0 || loadingHistory;
    }
  }

  // ------------------------------------------------------------ sign-in (the page only)

  function forgetSession() {
    if (options.remember) sessionStorage.removeItem(SESSION_KEY);
  }

  async function signInFromForm() {
    const userId = input("userId").value.trim();
    const tokenField = pick(host, "#token", HTMLTextAreaElement);
    let token = tokenField.value.trim().replace(/^Bearer\s+/i, "");
    if (!token) {
      if (!userId) {
        showError("Connect", {
          error: "enter a user id (dev mode) or paste a token",
          code: "VALIDATION_ERROR",
        });
        return;
      }
      try {
        token = await fetchDevToken(options.server, userId, input("username").value.trim());
      } catch (err) {
        showError("Dev token", err);
        return;
      }
      tokenField.value = token;
    }
    toast.clear("Dev token");
    await connectWith(new TokenSource(token));
    if (options.remember && connection.me) {
      sessionStorage.setItem(SESSION_KEY, JSON.stringify({ userId: connection.me.id, token }));
      if (!userId) input("userId").value = connection.me.id;
    }
  }

  /** @param {TokenSource} source */
  async function connectWith(source) {
    tokens = source;
    toast.clear("Connect");
    await connection.start(wire);
    updateControls();
  }

  if (options.signIn) {
    pick(host, "#signinForm", HTMLFormElement).addEventListener("submit", (e) => {
      e.preventDefault();
      void signInFromForm();
    });
    button("devTokenBtn").addEventListener("click", async () => {
      const userId = input("userId").value.trim();
      if (!userId) return showError("Dev token", { error: "enter a user id first" });
      try {
        pick(host, "#token", HTMLTextAreaElement).value = await fetchDevToken(
          options.server,
          userId,
          input("username").value.trim(),
        );
        toast.clear("Dev token");
      } catch (err) {
        showError("Dev token", err);
      }
    });
    button("disconnectBtn").addEventListener("click", () => {
      forgetSession();
      connection.stop();
      closeConversation();
      pick(host, "#token", HTMLTextAreaElement).value = "";
    });
  }

  // ------------------------------------------------------------ conversations

  async function loadConversations() {
    try {
      const rows = await api.json(
        "GET",
        `/api/chats/conversations?limit=${CONVERSATIONS_LIMIT}&skip=0`,
      );
      if (!Array.isArray(rows)) return;
      const list = /** @type {(ConversationRow | GroupConversationRow)[]} */ (rows);
      conversations.replace(list);
      for (const r of list) {
        if (r.lastMessage) remember(r.lastMessage);
      }
      if (openPartner) groupPanel.show(openGroup());
      renderPartnerHeader();
      toast.clear("Loading conversations");
    } catch (err) {
      showError("Loading conversations", err);
    }
  }

  function scheduleRefresh() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => void loadConversations(), 300);
  }

  /** @param {string} raw */
  function openConversation(raw) {
    const partnerId = raw.trim();
    const me = connection.me?.id;
    const group = groupIdOf(partnerId) !== null;
    if (!me) return showError("New chat", { error: "connect first" });
    if (!partnerId) return showError("New chat", { error: "enter a user id" });
    if (partnerId.length > 128 && !group) {
      return showError("New chat", { error: "user id too long" });
    }
    if (partnerId === me) return showError("New chat", { error: "you cannot chat with yourself" });
    toast.clear("New chat");
    app.dataset.view = "chat";
    if (openPartner === partnerId) return composer.focus();
    composer.reset();
    hidePartnerTyping();
    openPartner = partnerId;
    openGeneration++;
    hasOlder = false;
    readByDialog.close();
    if (!group) conversations.person(partnerId);
    conversations.setActive(partnerId);
    messages.reset(me, partnerId);
    for (const o of outbox.forConversation(partnerId)) messages.showOutgoing(o);
    renderPartnerHeader();
    updateControls();
    composer.focus();
    void loadHistory(false);
  }

  function closeConversation() {
    composer.reset();
    hidePartnerTyping();
    openPartner = "";
    openGeneration++;
    app.dataset.view = "list";
    readByDialog.close();
    messages.reset(connection.me?.id ?? "", "");
    conversations.setActive("");
    renderPartnerHeader();
    updateControls();
  }

  function renderPartnerHeader() {
    const name = $("partnerName");
    const status = $("partnerStatus");
    renderChatActions();
    if (!openPartner) {
      name.textContent = "No conversation open";
      name.removeAttribute("title");
      status.textContent = "";
      status.className = "presence muted";
      return;
    }
    const presence = conversations.presence(openPartner);
    name.textContent = conversations.displayName(openPartner);
    name.title = openPartner;
    const group = openGroup();
    if (group) {
      status.textContent = group.memberIds.map((id) =>
        id === connection.me?.id ? "you" : conversations.displayName(id)
      ).join(", ");
      status.className = "presence muted group-members-line";
      return;
    }
    status.textContent = presence.kind === "unknown"
      ? "presence unknown (shared once you have chatted)"
      : presence.text;
    status.className = `presence ${presence.kind}`;
  }

  /** Mute and block in the open chat's header; a blocked chat says why nothing can be sent. */
  function renderChatActions() {
    $("chatActions").hidden = !openPartner;
    const note = $("blockedNote");
    const text = pick(host, "#messageText", HTMLTextAreaElement);
    const blocked = openPartner !== "" && conversations.blocked.has(openPartner);
    const muted = openPartner !== "" && (conversations.rows.get(openPartner)?.muted ?? false);
    const who = openPartner ? conversations.displayName(openPartner) : "";
    const mute = button("muteBtn");
    mute.textContent = muted ? "Unmute" : "Mute";
    mute.title = muted
      ? "Notifications of this chat are off"
      : "Turn off notifications of this chat";
    const block = button("blockBtn");
    block.textContent = blocked ? "Unblock" : "Block";
    block.title = blocked ? `Let ${who} message you again` : "Stop messages both ways";
    // A group is muted, not blocked; its Members button opens its panel.
    block.hidden = groupIdOf(openPartner) !== null;
    groupPanel.show(openGroup());
    note.hidden = !blocked;
    note.textContent = blocked
      ? `You blocked ${who}. Neither of you can send messages until you unblock.`
      : "";
    text.placeholder = blocked ? "Unblock to send messages" : "Write a message…";
  }

  async function loadBlocked() {
    try {
      const list = await api.json("GET", "/api/users/blocked");
      if (!Array.isArray(list)) return;
      conversations.blocked.clear();
      for (const entry of list) {
        if (entry && typeof entry.userId === "string") conversations.blocked.add(entry.userId);
      }
      conversations.render();
      renderPartnerHeader();
      updateControls();
    } catch (err) {
      showError("Loading blocked users", err);
    }
  }

  async function toggleBlock() {
    const partnerId = openPartner;
    if (!partnerId) return;
    const blocking = !conversations.blocked.has(partnerId);
    const res = await connection.request(
      blocking ? "blockUser" : "unblockUser",
      { userId: partnerId },
      ACTION_TIMEOUT_MS,
    );
    if (!res.ok) return showError(blocking ? "Blocking" : "Unblocking", res);
    toast.clear(blocking ? "Blocking" : "Unblocking");
    conversations.setBlocked(partnerId, res.blocked);
    if (partnerId === openPartner) {
      // A reply or an edit being written cannot be sent now.
      if (res.blocked) composer.cancelContext();
      renderPartnerHeader();
      updateControls();
    }
    // A block hides presence both ways: the list's rows say so.
    scheduleRefresh();
  }

  async function toggleMute() {
    const partnerId = openPartner;
    if (!partnerId) return;
    const muting = !(conversations.rows.get(partnerId)?.muted ?? false);
    const groupId = groupIdOf(partnerId);
    try {
      const state = /** @type {{ muted?: unknown, mutedUntil?: unknown }} */ (await api.json(
        muting ? "PUT" : "DELETE",
        groupId
          ? `/api/groups/${encodeURIComponent(groupId)}/mute`
          : `/api/chats/conversations/${encodeURIComponent(partnerId)}/mute`,
      ));
      conversations.setMuted(
        partnerId,
        state?.muted === true,
        typeof state?.mutedUntil === "string" ? state.mutedUntil : null,
      );
      toast.clear("Muting");
      if (partnerId === openPartner) renderChatActions();
    } catch (err) {
      showError("Muting", err);
    }
  }

  /** @param {boolean} older */
  async function loadHistory(older) {
    const partnerId = openPartner;
    const generation = openGeneration;
    if (!partnerId || loadingHistory) return;
    const params = new URLSearchParams({ limit: String(HISTORY_LIMIT) });
    if (older) {
      const oldest = messages.oldest();
      if (!oldest) return;
      params.set("before", oldest._id);
    }
    const firstPage = !older && messages.messages.size === 0;
    loadingHistory = true;
    updateControls();
    try {
      const groupId = groupIdOf(partnerId);
      const page = await api.json(
        "GET",
        groupId
          ? `/api/groups/${encodeURIComponent(groupId)}/history?${params}`
          : `/api/chats/history/${encodeURIComponent(partnerId)}?${params}`,
      );
      if (generation !== openGeneration || !Array.isArray(page)) return;
      const list = page.filter(isMessage).map(remember);
      if (groupId && firstPage) markReadBeforeUnread(list);
      if (older || firstPage) hasOlder = list.length >= HISTORY_LIMIT;
      messages.add(list, { older, firstPage });
      if (pendingJump && messages.jumpTo(pendingJump)) pendingJump = "";
      if (groupId) void loadReadBy(list);
      toast.clear("Loading history");
    } catch (err) {
      if (generation === openGeneration) showError("Loading history", err);
    } finally {
      if (generation === openGeneration) {
        loadingHistory = false;
        updateControls();
      }
    }
  }

  // ------------------------------------------------------------ messages

  /** Stores or merges a message; returns the one copy. @param {ChatMessage} m */
  function remember(m) {
    const existing = known.get(m._id);
    if (!existing) {
      const copy = { ...m };
      known.set(m._id, copy);
      return copy;
    }
    if (m.deliveredAt && !existing.deliveredAt) existing.deliveredAt = m.deliveredAt;
    if (m.readAt && !existing.readAt) existing.readAt = m.readAt;
    // A fresher copy (history after a reconnect): edits, reactions and a deleted quote it shows.
    if (m.updatedAt && (!existing.updatedAt || m.updatedAt >= existing.updatedAt)) {
      existing.updatedAt = m.updatedAt;
      if (m.editedAt) {
        existing.text = m.text;
        existing.editedAt = m.editedAt;
      }
      if (Array.isArray(m.reactions)) existing.reactions = m.reactions;
      if (m.replyTo) existing.replyTo = m.replyTo;
      messages.refresh(existing);
    }
    return existing;
  }

  /**
   * A reaction toggled, or an item of a message's menu chosen.
   * @param {{ action: import("./message_menu.js").MessageAction | "react", emoji?: string }} choice
   * @param {ChatMessage} m
   */
  async function act(choice, m) {
    const me = connection.me?.id ?? "";
    switch (choice.action) {
      case "react": {
        const emoji = choice.emoji ?? "";
        const removing = hasReacted(m, me, emoji);
        const res = await connection.request(
          removing ? "removeReaction" : "addReaction",
          { messageId: m._id, emoji },
          ACTION_TIMEOUT_MS,
        );
        if (!res.ok) return showError("Reacting", res);
        toast.clear("Reacting");
        applyStored(res.message);
        return;
      }
      case "reply": {
        const who = m.senderId === me ? "yourself" : conversations.displayName(m.senderId);
        composer.startReply(m._id, who, m.text ?? `📎 ${m.file?.name ?? "file"}`);
        return;
      }
      case "edit":
        if (m.text !== null) composer.startEdit(m._id, m.text);
        return;
      case "deleteForMe":
        return await deleteMessage(m._id, true);
      case "deleteForEveryone":
        return await deleteMessage(m._id, false);
      case "report": {
        const answer = await reportDialog.ask(m.text ?? m.file?.name ?? "");
        if (!answer) {
          // Cancelled: back to the message's menu button, where the reader was.
          const trigger = messages.bubbles.get(m._id)?.querySelector("button.actions");
          if (trigger instanceof HTMLElement) trigger.focus();
          return;
        }
        try {
          await api.json("POST", `/api/chats/${encodeURIComponent(m._id)}/report`, {
            reason: answer.reason,
            ...(answer.note ? { note: answer.note } : {}),
          });
          toast.clear("Reporting");
          messages.markReported(m._id);
        } catch (err) {
          showError("Reporting", err);
        }
        return;
      }
    }
  }

  /** The server's copy of a message after an edit or a reaction. @param {ChatMessage} stored */
  function applyStored(stored) {
    if (!isMessage(stored)) return;
    const m = known.get(stored._id);
    if (!m) return;
    m.text = stored.text;
    m.editedAt = stored.editedAt;
    m.reactions = stored.reactions ?? [];
    if (stored.updatedAt) m.updatedAt = stored.updatedAt;
    messages.refresh(m);
  }

  /**
   * @param {string} messageId
   * @param {string} text
   */
  async function editMessage(messageId, text) {
    const res = await connection.request("editMessage", { messageId, text }, ACTION_TIMEOUT_MS);
    if (!res.ok) return showError("Editing", res);
    toast.clear("Editing");
    applyStored(res.message);
    conversations.noteEdit(messageId, res.message.text ?? text);
  }

  /** A message arrived live (receiveMessage, messageSent, a send's ack). @param {unknown} raw */
  function ingest(raw) {
    const me = connection.me?.id;
    if (!isMessage(raw) || !me) return;
    const isNew = !known.has(raw._id);
    const m = remember(raw);
    const incoming = isIncoming(m, me);
    const partnerId = conversationKeyOf(m, me);
    const hadRow = conversations.rows.has(partnerId);
    conversations.noteMessage(m, isNew && incoming && !m.readAt);
    if (isNew && incoming && !m.readAt) {
      notifier.notify(m, conversations.displayName(partnerId), partnerId === openPartner);
    }
    if (partnerId === openPartner) {
      if (incoming) hidePartnerTyping();
      messages.add([m]);
      renderEmpty();
    }
    const presenceKnown = m.groupId || conversations.people.get(partnerId)?.presenceKnown;
    if (!hadRow || !presenceKnown) scheduleRefresh();
  }

  /** The reader saw it: tell the server (once). @param {ChatMessage} m */
  async function markRead(m) {
    if (m.groupId && !m.readAt) return groupReads.seen(m);
    if (m.readAt || reading.has(m._id) || !connection.connected) return;
    reading.add(m._id);
    const res = await connection.request("messageRead", { messageId: m._id }, READ_TIMEOUT_MS);
    reading.delete(m._id);
    if (!res.ok) return showError("messageRead", res);
    applyRead(m._id, res.readAt);
  }

  /**
   * @param {string} messageId
   * @param {string} readAt
   */
  function applyRead(messageId, readAt) {
    const m = known.get(messageId);
    if (!m || m.readAt) return;
    m.readAt = readAt;
    if (m.receiverId === connection.me?.id) conversations.markOneRead(m.senderId);
    messages.update(m);
  }

  /**
   * @param {string} messageId
   * @param {boolean} [forMe] Hide it from this user only (either participant may).
   */
  async function deleteMessage(messageId, forMe = false) {
    try {
      await api.json(
        "DELETE",
        `/api/chats/${encodeURIComponent(messageId)}${forMe ? "?for=me" : ""}`,
      );
      removeMessage(messageId, !forMe);
      toast.clear("Deleting message");
    } catch (err) {
      showError("Deleting message", err);
    }
  }

  /**
   * @param {string} messageId
   * @param {boolean} forEveryone Replies quoting it then show "deleted message".
   */
  function removeMessage(messageId, forEveryone) {
    known.delete(messageId);
    messages.remove(messageId);
    if (forEveryone) messages.quoteDeleted(messageId);
    renderEmpty();
    scheduleRefresh();
  }

  function hidePartnerTyping() {
    clearTimeout(typingTimer);
    const typing = $("typing");
    typing.hidden = true;
    typing.textContent = "";
  }

  // ------------------------------------------------------------ groups

  /** The open conversation's group, when a group is open. @returns {Group | null} */
  function openGroup() {
    const groupId = groupIdOf(openPartner);
    return (groupId && groups.get(groupId)) || null;
  }

  /** A group as the server has it now (an answer, or groupUpdated). @param {Group} group */
  function applyGroup(group) {
    if (!group.memberIds.includes(connection.me?.id ?? "")) return dropGroup(group._id);
    conversations.addGroup(group);
    if (groupKey(group._id) === openPartner) {
      renderPartnerHeader();
      renderReadBy();
    }
  }

  /** The reader left the group or was removed: it goes from the page. @param {string} groupId */
  function dropGroup(groupId) {
    const key = groupKey(groupId);
    conversations.removeGroup(groupId);
    if (openPartner === key) closeConversation();
  }

  /**
   * A member's read pointer moved: another's (groupRead) changes the "Read by"
   * of the reader's messages; the reader's own (markGroupRead's answer, or
   * another tab of theirs) makes what it covers read here.
   * @param {GroupReadPayload} read
   */
  function applyGroupRead(read) {
    groups.noteRead(read, lookup);
    const key = groupKey(read.groupId);
    if (read.userId === connection.me?.id) {
      const pointer = known.get(read.messageId);
      let left = conversations.rows.get(key)?.unreadCount ?? 0;
      for (const m of known.values()) {
        if (m.groupId !== read.groupId || m.readAt || m.senderId === read.userId) continue;
        if (pointer ? compareMessages(m, pointer) > 0 : m._id > read.messageId) continue;
        m.readAt = read.readAt;
        messages.update(m);
        conversations.markOneRead(key);
        left--;
      }
      // More were unread than this page holds: the server counts the rest.
      if (left > 0) scheduleRefresh();
    }
    if (key === openPartner) renderReadBy();
  }

  /**
   * A group's first page: its messages before the list row's unread ones were
   * read before (the server keeps one pointer, not a time per message).
   * @param {ChatMessage[]} list
   */
  function markReadBeforeUnread(list) {
    const me = connection.me?.id ?? "";
    const unread = conversations.rows.get(openPartner)?.unreadCount ?? 0;
    const incoming = list.filter((m) => isIncoming(m, me) && !m.readAt).sort(compareMessages);
    for (const m of incoming.slice(0, Math.max(0, incoming.length - unread))) {
      m.readAt = m.createdAt;
    }
  }

  /** The "Read by" of the reader's messages in the open group, as far as the page knows. */
  function renderReadBy() {
    const group = openGroup();
    const me = connection.me?.id;
    if (!group || !me) return;
    for (const m of messages.messages.values()) {
      if (m.senderId !== me) continue;
      const readers = groups.readersOf(m, lookup).length;
      messages.setReadBy(m._id, readByLabel(readers, group.memberIds.length - 1));
    }
    const shown = readByDialog.message;
    if (shown?.groupId === group._id) void fillReadBy(shown);
  }

  /**
   * Who read the reader's newest message of a page: the members at or past it
   * (and so past every older one), for the labels. @param {ChatMessage[]} list
   */
  async function loadReadBy(list) {
    const me = connection.me?.id;
    const newest = list.filter((m) => m.senderId === me).sort(compareMessages).at(-1);
    if (newest) await fetchReads(newest);
    renderReadBy();
  }

  /**
   * `GET …/messages/:messageId/reads`, noted as each reader's pointer being at
   * least there. @param {ChatMessage} m @returns {Promise<boolean>}
   */
  async function fetchReads(m) {
    const groupId = m.groupId;
    if (!groupId) return false;
    try {
      const body = /** @type {{ reads?: unknown }} */ (await api.json(
        "GET",
        `/api/groups/${encodeURIComponent(groupId)}/messages/${encodeURIComponent(m._id)}/reads`,
      ));
      for (const r of Array.isArray(body?.reads) ? body.reads : []) {
        if (typeof r?.userId !== "string" || typeof r?.readAt !== "string") continue;
        groups.noteRead({ groupId, userId: r.userId, messageId: m._id, readAt: r.readAt }, lookup);
      }
      toast.clear("Loading who read it");
      return true;
    } catch (err) {
      showError("Loading who read it", err);
      return false;
    }
  }

  /**
   * The read-by list of one of the reader's group messages: what the page
   * knows at once, then the server's list.
   * @param {ChatMessage} m
   * @param {HTMLElement} trigger
   */
  async function showReadBy(m, trigger) {
    readByDialog.open(m, trigger);
    readByDialog.render(groups.readersOf(m, lookup), groups.get(m.groupId ?? ""));
    await fillReadBy(m);
  }

  /** @param {ChatMessage} m */
  async function fillReadBy(m) {
    if (!(await fetchReads(m)) || readByDialog.message?._id !== m._id) return;
    const group = groups.get(m.groupId ?? "");
    const readers = groups.readersOf(m, lookup);
    readByDialog.render(readers, group);
    messages.setReadBy(m._id, readByLabel(readers.length, (group?.memberIds.length ?? 1) - 1));
  }

  // ------------------------------------------------------------ socket events

  /** @param {ParleyClient} socket */
  function wire(socket) {
    socket.on("receiveMessage", (m, ack) => {
      ingest(m);
      // Stored on this page: the sender's tick turns "delivered" (not "read").
      if (typeof ack === "function") ack();
    });
    socket.on("messageSent", (m) => {
      if (isMessage(m)) outbox.settle(m);
      ingest(m);
    });
    socket.on("messageDelivered", (d) => {
      const m = known.get(d.messageId);
      if (!m || m.deliveredAt) return;
      m.deliveredAt = d.deliveredAt;
      messages.update(m);
    });
    socket.on("messageRead", (r) => {
      if (known.has(r.messageId)) applyRead(r.messageId, r.readAt);
      else if (r.readerId === connection.me?.id) scheduleRefresh();
    });
    // From the partner it was deleted for everyone; from this user's other tab it may have
    // been for them only, which shows the quote as deleted here until the next load.
    socket.on("messageDeleted", (d) => removeMessage(d.messageId, true));
    socket.on("messageEdited", (e) => {
      const m = known.get(e.messageId);
      if (m) {
        m.text = e.text;
        m.editedAt = e.editedAt;
        messages.refresh(m);
      }
      conversations.noteEdit(e.messageId, e.text);
    });
    socket.on("messageReaction", (r) => {
      const m = known.get(r.messageId);
      if (!m) return;
      applyReaction(m, r.userId, r.emoji, r.added);
      messages.refresh(m);
    });
    socket.on("userOnline", (p) => {
      conversations.setPresence(p);
      if (p.userId === openPartner) {
        renderPartnerHeader();
        if (!p.isOnline) hidePartnerTyping();
      }
    });
    socket.on("groupUpdated", (u) => applyGroup(u.group));
    socket.on("groupRead", (r) => applyGroupRead(r));
    socket.on("userTyping", (t) => {
      if ((t.groupId ? groupKey(t.groupId) : t.userId) !== openPartner) return;
      if (!t.isTyping) return hidePartnerTyping();
      const typing = $("typing");
      typing.textContent = `${conversations.displayName(t.userId)} is typing…`;
      typing.hidden = false;
      clearTimeout(typingTimer);
      typingTimer = setTimeout(hidePartnerTyping, TYPING_EXPIRE_MS);
    });
    socket.on("messageError", (e) => {
      // An expiring token is the provider's to renew: the reconnect asks it.
      if (e.code === "TOKEN_EXPIRED" && tokens.renewable) return;
      // A failed send shows on its bubble, and the page's acked requests show their own
      // refusal (named as the user knows it); the other refusals need words.
      if (!e.event || !ACKED_EVENTS.has(e.event)) showError(e.event ?? "Server", e);
    });
  }

  // ------------------------------------------------------------ page controls

  pick(host, "#newChatForm", HTMLFormElement).addEventListener("submit", (e) => {
    e.preventDefault();
    const field = input("partnerId");
    openConversation(field.value);
    if (openPartner === field.value.trim()) field.value = "";
  });
  button("loadOlderBtn").addEventListener("click", () => void loadHistory(true));
  button("muteBtn").addEventListener("click", () => void toggleMute());
  button("blockBtn").addEventListener("click", () => void toggleBlock());
  button("backBtn").addEventListener("click", () => {
    app.dataset.view = "list";
    conversations.el.list.querySelector(".conv-btn[aria-current]")?.closest("li")
      ?.querySelector("button")?.focus();
  });
  app.addEventListener("keydown", (e) => {
    if (e.key !== "Escape") return;
    if (messages.menu.isOpen) messages.menu.close(true);
    else if (!$("toast").hidden) toast.dismiss();
  });

  if (options.signIn && options.remember) {
    const saved = readSession();
    if (saved) {
      input("userId").value = saved.userId;
      pick(host, "#token", HTMLTextAreaElement).value = saved.token;
      void connectWith(new TokenSource(saved.token));
    }
  }
  updateControls();
  renderPartnerHeader();

  return {
    /** Connects with a fixed token or a provider (the embed). @param {TokenSource} source */
    connectWith,
    /** Opens a chat now, or once connected. @param {string} partnerId */
    open(partnerId) {
      if (connection.connected) openConversation(partnerId);
      else pendingPartner = partnerId;
    },
    destroy() {
      connection.destroy();
      uploads.clear();
      host.remove();
    },
  };
}

/** @returns {{ userId: string, token: string } | null} */
function readSession() {
  try {
    const saved = JSON.parse(sessionStorage.getItem(SESSION_KEY) ?? "null");
    if (saved && typeof saved.userId === "string" && typeof saved.token === "string") return saved;
  } catch { /* a damaged entry is ignored */ }
  return null;
}
