/**
 * One CLI chat session: the commands a user types and the live events the
 * server pushes, each printed as one line (see format.ts).
 */
import type { Socket } from "socket.io-client";
import type {
  ChatMessage,
  ClientToServerEvents,
  ConversationRow,
  ErrorPayload,
  Group,
  GroupConversationRow,
  ServerToClientEvents,
} from "../protocol/types.ts";
import { withReaction } from "../protocol/reactions.ts";
import {
  clean,
  conversationList,
  errorLine,
  groupLabel,
  groupUpdateLine,
  inConversation,
  messageLine,
  type OpenChat,
  presenceLine,
  shorten,
  typingLine,
} from "./format.ts";

export type ChatSocket = Socket<ServerToClientEvents, ClientToServerEvents>;

export interface SessionOptions {
  /** The token's user. */
  me: string;
  socket: ChatSocket;
  /** Prints one line. */
  print(line: string): void;
  /** Loads the conversation list (REST): partners' rows and groups' rows. */
  conversations(): Promise<(ConversationRow | GroupConversationRow)[]>;
  /** Searches the user's messages (REST `GET /api/chats/search`), newest first. */
  search?(q: string): Promise<ChatMessage[]>;
  /** Messages shown by `/open`. Default 50. */
  historyLimit?: number;
  /** How long to wait for an ack. Default 10 000 ms. */
  ackTimeoutMs?: number;
  /** Told when the open conversation changes (the prompt names it: a partner, or `#group`). */
  openChanged?(partner: string | null): void;
}

/** `typing` is sent at most this often while the user types… */
const TYPING_THROTTLE_MS = 2000;
/** …and stopped after this long without a keystroke. */
const TYPING_IDLE_MS = 3000;
/** Messages from before the connect that arrive within this quiet gap are one catch-up. */
const CATCH_UP_QUIET_MS = 300;

export const HELP = [
  "Commands:",
  "  /open <user>          show the latest messages with <user> and chat with them",
  "  /group <name> <user> <user>…  make a group with these people and open it",
  '                        (a name with spaces in quotes: /group "Weekend trip" bob carol)',
  "  /open #<group>        open a group by its name or id",
  "  /list                 list conversations with unread counts",
  "  /edit <n> <text>      change the text of your message n",
  "  /react <n> <emoji>    add your emoji to message n, or take it off again",
  "  /reply <n> <text>     send <text> quoting message n",
  "  /search <words>       your messages holding every word, newest first",
  "  /block <user>         stop messages both ways (/unblock <user> lifts it)",
  "  /help                 this help",
  "  /quit                 leave (so does end of input, Ctrl-D)",
  "n counts back from the newest message of the open conversation: 1 is the last line",
  "shown, 2 the one above it, and so on.",
  "Any other line is sent to the open conversation (start it with // to send a leading /).",
];

/** How many messages the session remembers, to describe receipts and deletes. */
const KNOWN_MAX = 2000;

export class ChatSession {
  /** The partner of the open conversation. */
  open: string | null = null;
  /** The open group (then `open` is null). */
  group: Group | null = null;
  /** The user's groups as last heard of (list, answers, groupUpdated), by id. */
  private readonly groups = new Map<string, Group>();
  /** Per group, the newest message whose read pointer went out. */
  private readonly groupReadSent = new Map<string, ChatMessage>();
  private readonly known = new Map<string, ChatMessage>();
  /** The open conversation's messages as shown, oldest first: `n` of the commands counts back. */
  private shown: ChatMessage[] = [];
  private readonly readSent = new Set<string>();
  /** Acked emits still waiting, per event: their failures are printed from the ack. */
  private readonly waiting = new Map<string, number>();
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Typing state of what the user is writing to the open partner or group. */
  private typingTo: Target | null = null;
  private typingSentAt = 0;
  private typingIdle: ReturnType<typeof setTimeout> | undefined;
  /** Messages from before the last connect, held to be shown under one heading. */
  private catchUp:
    | { since: string; held: ChatMessage[]; timer?: ReturnType<typeof setTimeout> }
    | null = null;
  private readonly openChanged: (partner: string | null) => void;
  /** Read from the token at start; the server's `session` event has the last word. */
  private me: string;
  private readonly socket: ChatSocket;
  private readonly print: (line: string) => void;
  private readonly options: Required<Pick<SessionOptions, "historyLimit" | "ackTimeoutMs">> & {
    conversations: SessionOptions["conversations"];
    search: SessionOptions["search"];
  };

  constructor(options: SessionOptions) {
    this.me = options.me;
    this.socket = options.socket;
    this.print = options.print;
    this.options = {
      conversations: options.conversations,
      search: options.search,
      historyLimit: options.historyLimit ?? 50,
      ackTimeoutMs: options.ackTimeoutMs ?? 10_000,
    };
    this.openChanged = options.openChanged ?? (() => {});
    this.listen();
  }

  /** Runs one input line; resolves `"quit"` when the user leaves. */
  async command(line: string): Promise<"quit" | void> {
    const input = line.trim();
    if (input === "") return;
    if (!input.startsWith("/") || input.startsWith("//")) {
      await this.send(input.startsWith("//") ? input.slice(1) : input);
      return;
    }
    const [name, ...rest] = input.split(/\s+/);
    switch (name) {
      case "/quit":
      case "/exit":
        return "quit";
      case "/open": {
        const what = rest.join(" ");
        await (what.startsWith("#") ? this.openGroup(what.slice(1)) : this.openConversation(what));
        return;
      }
      case "/group":
        await this.createGroup(input);
        return;
      case "/list":
        await this.list();
        return;
      case "/edit":
        await this.edit(input);
        return;
      case "/react":
        await this.react(rest);
        return;
      case "/reply":
        await this.reply(input);
        return;
      case "/search":
        await this.search(rest.join(" "));
        return;
      case "/block":
      case "/unblock":
        await this.block(rest[0] ?? this.open ?? "", name === "/block");
        return;
      case "/help":
        HELP.forEach((l) => this.print(l));
        return;
      default:
        this.print(errorLine("USAGE", `unknown command ${clean(name ?? "")} (try /help)`));
    }
  }

  async list(): Promise<void> {
    const rows = await this.loadConversations();
    if (rows) { for (const l of conversationList(rows, this.me)) this.print(l); }
  }

  /** The groups of a conversation list, so that lines and `/open #name` can name them. */
  noteConversations(rows: readonly (ConversationRow | GroupConversationRow)[]): void {
    for (const row of rows) if ("group" in row) this.groups.set(row.group._id, row.group);
  }

  /** The conversation list, its groups remembered; undefined (printed) when it failed. */
  private async loadConversations() {
    try {
      const rows = await this.options.conversations();
      this.noteConversations(rows);
      return rows;
    } catch (err) {
      this.printError(err);
      return undefined;
    }
  }

  /** What is open, as format.ts takes it. */
  private get openChat(): OpenChat {
    return this.group ? { groupId: this.group._id, name: this.group.name } : this.open;
  }

  /** Where messages and typing of the open conversation go. */
  private get target(): Target | null {
    if (this.group) return { groupId: this.group._id };
    return this.open ? { receiverId: this.open } : null;
  }

  private line(message: ChatMessage): string {
    return messageLine(message, this.openChat, (id) => this.groups.get(id)?.name);
  }

  /** `/group <name> <user> <user>…`: makes the group (the user its owner) and opens it. */
  async createGroup(input: string): Promise<void> {
    const parsed = nameAndUsers(input);
    if (!parsed) return this.print(errorLine("USAGE", "/group <name> <user> <user>…"));
    const memberIds = parsed.users.filter((id) => id !== this.me);
    const result = await this.acked(
      "createGroup",
      (ack) => this.socket.emit("createGroup", { name: parsed.name, memberIds }, ack),
    );
    if (!result) return;
    const { group } = result;
    this.groups.set(group._id, group);
    this.print(
      `* you created ${groupLabel(group.name)} (id ${clean(group._id)}): ${
        group.memberIds.map((id) => id === this.me ? "you" : clean(id)).join(", ")
      }`,
    );
    await this.openGroup(group._id);
  }

  /** `/open #<group>`: by id, or by name when only one of the user's groups has it. */
  async openGroup(ref: string): Promise<void> {
    const wanted = ref.trim();
    if (!wanted) return this.print(errorLine("USAGE", "/open #<group name or id>"));
    let group = this.findGroup(wanted);
    if (group === undefined) {
      await this.loadConversations();
      group = this.findGroup(wanted);
    }
    if (group === null) return;
    const groupId = group?._id ?? wanted;
    const result = await this.acked(
      "getChatHistory",
      (ack) =>
        this.socket.emit("getChatHistory", { groupId, limit: this.options.historyLimit }, ack),
    );
    if (!result) return;
    this.stopTyping();
    this.open = null;
    this.group = group ?? this.groups.get(groupId) ?? {
      _id: groupId,
      name: groupId,
      ownerId: "",
      memberIds: [],
      createdAt: "",
      updatedAt: "",
    };
    this.openChanged(`#${this.group.name}`);
    const count = this.group.memberIds.length;
    const who = count > 0 ? ` (${count} members)` : "";
    this.showHistory(`${groupLabel(this.group.name)}${who}`, result.messages);
  }

  /** The opened conversation's history under its heading; what it shows counts as read. */
  private showHistory(title: string, messages: ChatMessage[]): void {
    this.shown = [...messages];
    this.print(
      messages.length === 0
        ? `--- ${title}: no messages yet ---`
        : `--- ${title}: last ${messages.length} message${messages.length === 1 ? "" : "s"} ---`,
    );
    for (const message of messages) {
      this.remember(message);
      this.print(this.line(message));
    }
    this.markRead(messages);
  }

  /**
   * The user's group with this id, else the one with this name (any case);
   * undefined when none is known, null (printed) when several share the name.
   */
  private findGroup(ref: string): Group | null | undefined {
    const byId = this.groups.get(ref);
    if (byId) return byId;
    const named = [...this.groups.values()].filter((g) =>
      g.name.toLowerCase() === ref.toLowerCase()
    );
    if (named.length <= 1) return named[0];
    this.print(
      errorLine(
        "USAGE",
        `${named.length} groups are called ${groupLabel(ref)}: /open #<id> with one of ${
          named.map((g) => clean(g._id)).join(", ")
        }`,
      ),
    );
    return null;
  }

  async openConversation(partner: string): Promise<void> {
    if (!partner) return this.print(errorLine("USAGE", "/open <user>"));
    if (partner === this.me) {
      return this.print(errorLine("USAGE", "that is you: open a conversation with someone else"));
    }
    const result = await this.acked("getChatHistory", (ack) =>
      this.socket.emit("getChatHistory", {
        userId1: this.me,
        userId2: partner,
        limit: this.options.historyLimit,
      }, ack));
    if (!result) return;
    this.stopTyping();
    this.open = partner;
    this.group = null;
    this.openChanged(partner);
    this.showHistory(clean(partner), result.messages);
  }

  async send(text: string, replyTo?: string): Promise<void> {
    const target = this.target;
    if (!target) {
      return this.print(errorLine("USAGE", "no conversation open: /open <user> first"));
    }
    this.stopTyping();
    const result = await this.acked("sendMessage", (ack) =>
      this.socket.emit("sendMessage", {
        ...target,
        text,
        clientMessageId: crypto.randomUUID(),
        ...(replyTo ? { replyTo } : {}),
      }, ack));
    // The ack is this socket's copy: messageSent goes to our other tabs only.
    if (result) this.showNew(result.message);
  }

  /** `/edit <n> <text>`: the server says `messageEdited`, printed as it comes. */
  async edit(input: string): Promise<void> {
    const parsed = numberAndText(input);
    const message = parsed && this.pick(parsed.n, "/edit <n> <text>");
    if (!parsed || !message) return parsed ? undefined : this.print(usage("/edit <n> <text>"));
    const { text } = parsed;
    await this.acked(
      "editMessage",
      (ack) => this.socket.emit("editMessage", { messageId: message._id, text }, ack),
    );
  }

  /** `/reply <n> <text>`: sends `text` quoting message n. */
  async reply(input: string): Promise<void> {
    const parsed = numberAndText(input);
    const message = parsed && this.pick(parsed.n, "/reply <n> <text>");
    if (!parsed || !message) return parsed ? undefined : this.print(usage("/reply <n> <text>"));
    await this.send(parsed.text, message._id);
  }

  /** `/react <n> <emoji>`: adds the emoji, or takes it off when it is already the user's. */
  async react([n, emoji, ...extra]: string[]): Promise<void> {
    if (!n || !emoji || extra.length > 0) return this.print(usage("/react <n> <emoji>"));
    const message = this.pick(n, "/react <n> <emoji>");
    if (!message) return;
    const mine = message.reactions?.some((r) => r.emoji === emoji && r.userIds.includes(this.me));
    const event = mine ? "removeReaction" : "addReaction";
    await this.acked(
      event,
      (ack) => this.socket.emit(event, { messageId: message._id, emoji }, ack),
    );
  }

  /** `/search <words>`: prints the matches, each naming both ends. */
  async search(words: string): Promise<void> {
    if (!words) return this.print(usage("/search <words>"));
    if (!this.options.search) return this.print(errorLine("USAGE", "search is not available"));
    try {
      const found = await this.options.search(words);
      const what = `"${clean(shorten(words, 40))}"`;
      this.print(
        found.length === 0
          ? `--- search ${what}: no messages ---`
          : `--- search ${what}: ${found.length} message${found.length === 1 ? "" : "s"} ---`,
      );
      for (const message of found) {
        this.print(messageLine(message, null, (id) => this.groups.get(id)?.name));
      }
    } catch (err) {
      this.printError(err);
    }
  }

  /** `/block <user>`, `/unblock <user>` (the open partner when none is named). */
  async block(userId: string, blocked: boolean): Promise<void> {
    const command = blocked ? "/block" : "/unblock";
    if (!userId) return this.print(usage(`${command} <user>`));
    const event = blocked ? "blockUser" : "unblockUser";
    const result = await this.acked(event, (ack) => this.socket.emit(event, { userId }, ack));
    if (!result) return;
    const who = clean(result.userId);
    this.print(
      result.blocked
        ? `* blocked ${who}: no messages either way until you /unblock ${who}`
        : `* unblocked ${who}`,
    );
  }

  /** Message `n` counted back from the newest shown; prints why not when there is none. */
  private pick(n: string, how: string): ChatMessage | undefined {
    if (!this.target) {
      this.print(errorLine("USAGE", "no conversation open: /open <user> first"));
      return undefined;
    }
    const index = /^[1-9]\d{0,4}$/.test(n) ? Number(n) : 0;
    const message = index > 0 ? this.shown.at(-index) : undefined;
    if (!message) {
      this.print(
        errorLine(
          "USAGE",
          `${how}: n is 1 for the last message shown, up to ${this.shown.length} (given: ${
            clean(n)
          })`,
        ),
      );
    }
    return message;
  }

  private listen(): void {
    this.socket.on("session", ({ userId }) => void (this.me = userId));
    const socket = this.socket;
    socket.on("receiveMessage", (message, ack) => {
      // Acknowledged before the read receipt that showing it may send: the
      // sender's tick goes delivered, then read, and it is not sent again.
      if (typeof ack === "function") ack();
      if (this.catchUp && message.createdAt < this.catchUp.since) return this.hold(message);
      this.showNew(message);
    });
    socket.on("messageSent", (message) => this.showNew(message));
    socket.on("userTyping", ({ userId, isTyping, groupId }) => {
      const group = groupId === undefined ? undefined : this.groups.get(groupId)?.name ?? groupId;
      this.print(typingLine(userId, isTyping, group));
    });
    socket.on("groupUpdated", (update) => {
      const { group, change } = update;
      const member = group.memberIds.includes(this.me);
      if (member) this.groups.set(group._id, group);
      else this.groups.delete(group._id);
      if (this.group?._id === group._id) {
        this.group = member ? group : null;
        this.openChanged(member ? `#${group.name}` : null);
      }
      // The user's own /group printed its line already.
      if (change.type === "created" && group.ownerId === this.me) return;
      this.print(groupUpdateLine(update, this.me));
    });
    socket.on("groupRead", ({ userId, messageId }) => {
      // Who read the user's own group messages, as messageRead says it for 1:1.
      const message = this.known.get(messageId);
      if (userId === this.me || !message || message.senderId !== this.me) return;
      const group = message.groupId ? this.groups.get(message.groupId)?.name : undefined;
      const where = group === undefined ? "" : ` in ${groupLabel(group)}`;
      this.print(`* ${clean(userId)} read ${clean(`"${shorten(describe(message), 40)}"`)}${where}`);
    });
    socket.on("userOnline", (presence) => this.print(presenceLine(presence)));
    socket.on("messageRead", ({ messageId, readerId }) => {
      // Our own receipts (from another tab of ours) tell the user nothing new.
      if (readerId === this.me) return;
      const message = this.known.get(messageId);
      if (message) message.readAt ??= new Date().toISOString();
      const what = message ? `"${shorten(describe(message), 40)}"` : messageId;
      this.print(`* ${clean(readerId)} read ${clean(what)}`);
    });
    socket.on("messageDeleted", ({ messageId }) => {
      const message = this.known.get(messageId);
      this.known.delete(messageId);
      this.shown = this.shown.filter((m) => m._id !== messageId);
      this.print(
        message ? `* deleted: ${this.line(message)}` : `* deleted: ${clean(messageId)}`,
      );
    });
    socket.on("messageEdited", ({ messageId, text, editedAt }) => {
      const message = this.known.get(messageId);
      if (!message) return this.print(`* edited: ${clean(messageId)}: ${clean(text)}`);
      message.text = text;
      message.editedAt = editedAt;
      this.print(`* edited: ${this.line(message)}`);
    });
    socket.on("messageReaction", ({ messageId, userId, emoji, added }) => {
      const message = this.known.get(messageId);
      const what = message
        ? this.line(applyReaction(message, userId, emoji, added))
        : clean(messageId);
      const who = userId === this.me ? "you" : clean(userId);
      this.print(`* ${who} ${added ? "reacted" : "took back"} ${clean(emoji)}: ${what}`);
    });
    socket.on("messageError", (error) => {
      // A failed acked emit reports through its ack; print the rest here.
      if (error.event && (this.waiting.get(error.event) ?? 0) > 0) return;
      this.printError(error);
    });
  }

  /**
   * The socket (re)connected: the messages it missed, which the server sends
   * first, are shown together under a heading with their count.
   */
  connected(at = new Date()): void {
    this.flushCatchUp();
    this.catchUp = { since: at.toISOString(), held: [] };
    this.catchUp.timer = setTimeout(() => this.flushCatchUp(), CATCH_UP_QUIET_MS);
  }

  private hold(message: ChatMessage): void {
    const catchUp = this.catchUp!;
    catchUp.held.push(message);
    clearTimeout(catchUp.timer);
    catchUp.timer = setTimeout(() => this.flushCatchUp(), CATCH_UP_QUIET_MS);
  }

  private flushCatchUp(): void {
    const catchUp = this.catchUp;
    if (!catchUp) return;
    this.catchUp = null;
    clearTimeout(catchUp.timer);
    const missed = catchUp.held.filter((m) => !this.known.has(m._id));
    if (missed.length === 0) return;
    this.print(`--- ${missed.length} missed message${missed.length === 1 ? "" : "s"} ---`);
    for (const message of missed) this.showNew(message);
  }

  /**
   * What the user has typed so far changed: `typing` goes to the open partner,
   * at most every 2 s, and stops after 3 s without a keystroke or when sent.
   */
  typed(text: string): void {
    const target = this.target;
    if (!target || text.trim() === "" || text.startsWith("/")) return this.stopTyping();
    const now = Date.now();
    const same = this.typingTo !== null && sameTarget(this.typingTo, target);
    if (!same || now - this.typingSentAt >= TYPING_THROTTLE_MS) {
      if (this.typingTo && !same) this.stopTyping();
      this.socket.emit("typing", { ...target, isTyping: true });
      this.typingTo = target;
      this.typingSentAt = now;
    }
    clearTimeout(this.typingIdle);
    this.typingIdle = setTimeout(() => this.stopTyping(), TYPING_IDLE_MS);
  }

  stopTyping(): void {
    clearTimeout(this.typingIdle);
    const target = this.typingTo;
    if (!target) return;
    this.typingTo = null;
    this.socket.emit("typing", { ...target, isTyping: false });
  }

  /** Prints a message once, however many ways it arrives, and reads it if it is on screen. */
  private showNew(message: ChatMessage): void {
    if (this.known.has(message._id)) return;
    this.remember(message);
    if (inConversation(message, this.openChat)) {
      this.shown.push(message);
      if (this.shown.length > KNOWN_MAX) this.shown.shift();
    }
    this.print(this.line(message));
    this.markRead([message]);
  }

  /**
   * Sends `messageRead` for every unread message from the open partner among
   * `messages`; in the open group, `markGroupRead` for the newest from others
   * (one pointer covers all before it).
   */
  private markRead(messages: readonly ChatMessage[]): void {
    const group = this.group;
    if (group) {
      const newest = messages.filter((m) => m.groupId === group._id && m.senderId !== this.me)
        .at(-1);
      const sent = this.groupReadSent.get(group._id);
      if (!newest || (sent && !isNewer(newest, sent))) return;
      this.groupReadSent.set(group._id, newest);
      const payload = { groupId: group._id, messageId: newest._id };
      void this.acked("markGroupRead", (ack) => this.socket.emit("markGroupRead", payload, ack));
      return;
    }
    for (const message of messages) {
      if (
        message.senderId !== this.open || message.receiverId !== this.me || message.readAt ||
        this.readSent.has(message._id)
      ) continue;
      this.readSent.add(message._id);
      const messageId = message._id;
      void this.acked("messageRead", (ack) => this.socket.emit("messageRead", { messageId }, ack));
    }
  }

  private remember(message: ChatMessage): void {
    this.known.set(message._id, message);
    if (this.known.size > KNOWN_MAX) {
      const oldest = this.known.keys().next().value;
      if (oldest !== undefined) this.known.delete(oldest);
    }
  }

  /**
   * Runs one emit with an ack callback and a time-out; prints the failure (or
   * the time-out) and resolves undefined then.
   *
   * The callback form, not `emitWithAck`: with the optional acks of the event
   * map, socket.io-client types `emitWithAck`'s result as `any`, while the
   * callback is typed from the map.
   */
  private acked<E extends AckedEvent>(
    event: E,
    send: (ack: (result: AckResultOf<E>) => void) => void,
  ): Promise<Extract<AckResultOf<E>, { ok: true }> | undefined> {
    this.waiting.set(event, (this.waiting.get(event) ?? 0) + 1);
    const pending = new Promise<AckResultOf<E> | undefined>((resolve) => {
      const timer = setTimeout(() => resolve(undefined), this.options.ackTimeoutMs);
      send((result) => {
        clearTimeout(timer);
        resolve(result);
      });
    }).then((result) => {
      this.waiting.set(event, (this.waiting.get(event) ?? 1) - 1);
      this.inFlight.delete(pending);
      if (!result) {
        this.print(
          errorLine("TIMEOUT", `no answer to ${event} in ${this.options.ackTimeoutMs} ms`),
        );
        return undefined;
      }
      if (isSuccess(result)) return result;
      this.printError(result);
      return undefined;
    });
    this.inFlight.add(pending);
    return pending;
  }

  /**
   * Waits (at most `ms`) for the acks still outstanding, such as read receipts
   * sent just before the user quit, so that they reach the server.
   */
  async drain(ms: number): Promise<void> {
    this.stopTyping();
    this.flushCatchUp();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise((resolve) => timer = setTimeout(resolve, ms)),
    ]);
    clearTimeout(timer);
  }

  private printError(err: unknown): void {
    if (isErrorPayload(err)) {
      const where = err.event ? `${err.event}: ` : "";
      return this.print(errorLine(err.code, `${where}${err.error}`));
    }
    if (err instanceof Error && "code" in err && typeof err.code === "string") {
      return this.print(errorLine(err.code, err.message));
    }
    this.print(errorLine("INTERNAL_ERROR", err instanceof Error ? err.message : String(err)));
  }
}

/** Events the session sends with an ack. */
type AckedEvent =
  | "getChatHistory"
  | "createGroup"
  | "markGroupRead"
  | "sendMessage"
  | "messageRead"
  | "editMessage"
  | "addReaction"
  | "removeReaction"
  | "blockUser"
  | "unblockUser";

/** What the server answers to `E`'s ack, from the event map. */
type AckResultOf<E extends AckedEvent> = Parameters<
  NonNullable<Parameters<ClientToServerEvents[E]>[1]>
>[0];

function isSuccess<R extends { ok: boolean }>(result: R): result is Extract<R, { ok: true }> {
  return result.ok;
}

function isErrorPayload(value: unknown): value is ErrorPayload {
  return typeof value === "object" && value !== null && "code" in value && "error" in value &&
    typeof value.code === "string" && typeof value.error === "string";
}

/** `/edit 2 new text` → `{n: "2", text: "new text"}`, the text's own spacing kept. */
function numberAndText(input: string): { n: string; text: string } | null {
  const match = /^\S+\s+(\S+)\s+(\S[\s\S]*)$/.exec(input);
  return match ? { n: match[1]!, text: match[2]! } : null;
}

/** Where a message or typing goes: the partner, or the group. */
type Target = { receiverId: string } | { groupId: string };

function sameTarget(a: Target, b: Target): boolean {
  return "groupId" in a
    ? "groupId" in b && a.groupId === b.groupId
    : "receiverId" in b && a.receiverId === b.receiverId;
}

/** Whether `a` came after `b` (both of one conversation). */
function isNewer(a: ChatMessage, b: ChatMessage): boolean {
  return a.createdAt === b.createdAt ? a._id > b._id : a.createdAt > b.createdAt;
}

/**
 * `/group "Weekend trip" bob carol` or `/group Team bob carol` → the name and
 * the users; null without a name or a user.
 */
function nameAndUsers(input: string): { name: string; users: string[] } | null {
  const match = /^\S+\s+(?:"([^"]+)"|(\S+))\s*([\s\S]*)$/.exec(input);
  const name = (match?.[1] ?? match?.[2] ?? "").trim();
  const users = [...new Set((match?.[3] ?? "").split(/[\s,]+/).filter(Boolean))];
  return name && users.length > 0 ? { name, users } : null;
}

function usage(how: string): string {
  return errorLine("USAGE", `${how} (n: 1 is the last message shown; see /help)`);
}

/** The message with `userId`'s `emoji` added or taken off, as the server did. */
function applyReaction(
  message: ChatMessage,
  userId: string,
  emoji: string,
  added: boolean,
): ChatMessage {
  const reactions = message.reactions ?? [];
  message.reactions = withReaction(reactions, userId, emoji, added) ?? reactions;
  return message;
}

function describe(message: ChatMessage): string {
  return message.text ?? message.file?.name ?? message._id;
}
