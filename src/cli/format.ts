/**
 * How the CLI prints things: one line per event, stable enough to read and to
 * grep. Every string that came from the server passes through `clean` first,
 * so another user cannot move the cursor or recolour the terminal with escape
 * sequences hidden in a message.
 */
import type {
  ChatMessage,
  ConversationRow,
  PresencePayload,
  Reaction,
  ReplyTo,
} from "../protocol/types.ts";

/** C0 control characters (line breaks are handled first), DEL and C1. */
// deno-lint-ignore no-control-regex
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g;

/** One printable line: line breaks become ` ⏎ `, tabs spaces; other control characters vanish. */
export function clean(text: string): string {
  return text.replace(/\r?\n|\r/g, " ⏎ ").replace(/\t/g, " ").replace(CONTROL, "");
}

/** `HH:MM` in the local time zone, 24-hour clock. */
export function clock(iso: string): string {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "--:--";
  return `${pad(date.getHours())}:${pad(date.getMinutes())}`;
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}

/** The visible content of a message: its text, then `[file: name, type, N bytes, url]`. */
export function body(message: ChatMessage): string {
  const parts: string[] = [];
  if (message.text) parts.push(clean(message.text));
  const file = message.file;
  if (file) {
    parts.push(`[file: ${clean(file.name)}, ${file.type}, ${file.size} bytes, ${clean(file.url)}]`);
  }
  return parts.join(" ");
}

/** `(reply to bob: "the quoted text") `, or `(reply to a deleted message) `; "" for none. */
export function quote(replyTo: ReplyTo | null | undefined): string {
  if (!replyTo) return "";
  if ("deleted" in replyTo) return "(reply to a deleted message) ";
  const what = replyTo.text ?? (replyTo.file ? `[file: ${replyTo.file.name}]` : "");
  return `(reply to ${clean(replyTo.senderId)}: "${shorten(clean(what), 40)}") `;
}

/** ` [👍 2 ❤️ 1]`: each emoji with how many reacted with it; "" for none. */
export function reactionsPart(reactions: readonly Reaction[] | undefined): string {
  const shown = (reactions ?? []).filter((r) => r.userIds.length > 0);
  if (shown.length === 0) return "";
  return ` [${shown.map((r) => `${clean(r.emoji)} ${r.userIds.length}`).join(" ")}]`;
}

/**
 * `[12:01] bob: hi` for the conversation on screen; `[12:01] carol → alice: hi`
 * for any other, so that a message from elsewhere cannot pass for the open one.
 * A reply starts with its quote, an edited message ends with `(edited)`, then
 * come its reactions: `[12:01] bob: (reply to alice: "lunch?") yes (edited) [👍 1]`.
 */
export function messageLine(message: ChatMessage, openPartner: string | null): string {
  const partner = openPartner ?? "";
  const inOpen = message.senderId === partner || message.receiverId === partner;
  const who = inOpen
    ? clean(message.senderId)
    : `${clean(message.senderId)} → ${clean(message.receiverId ?? `#${message.groupId}`)}`;
  const edited = message.editedAt ? " (edited)" : "";
  return `[${clock(message.createdAt)}] ${who}: ${quote(message.replyTo)}${body(message)}${edited}${
    reactionsPart(message.reactions)
  }`;
}

/** `  bob [online] 2 unread · bob: hi` */
export function conversationLine(row: ConversationRow, me: string): string {
  const { user, lastMessage, unreadCount } = row;
  const name = user.username && user.username !== user._id
    ? `${clean(user._id)} (${clean(user.username)})`
    : clean(user._id);
  const last = lastMessage
    ? ` · ${lastMessage.senderId === me ? "you" : clean(lastMessage.senderId)}: ${
      shorten(body(lastMessage), 60)
    }`
    : "";
  return `  ${name} [${user.isOnline ? "online" : "offline"}] ${unreadCount} unread${last}`;
}

export function conversationList(rows: readonly ConversationRow[], me: string): string[] {
  if (rows.length === 0) return ["No conversations yet. Start one with /open <user>."];
  return [`Conversations (${rows.length}):`, ...rows.map((row) => conversationLine(row, me))];
}

/** `* bob is online` / `* bob is offline (last seen 12:03)` */
export function presenceLine(presence: PresencePayload): string {
  const who = clean(presence.userId);
  if (presence.isOnline) return `* ${who} is online`;
  return presence.lastSeen
    ? `* ${who} is offline (last seen ${clock(presence.lastSeen)})`
    : `* ${who} is offline`;
}

/** `* bob is typing…` / `* bob stopped typing` */
export function typingLine(userId: string, isTyping: boolean): string {
  return isTyping ? `* ${clean(userId)} is typing…` : `* ${clean(userId)} stopped typing`;
}

/** `! CODE: message` */
export function errorLine(code: string, message: string): string {
  return `! ${clean(code)}: ${clean(message)}`;
}

export function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
