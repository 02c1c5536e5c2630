/**
 * How the CLI prints things: one line per event, stable enough to read and to
 * grep. Every string that came from the server passes through `clean` first,
 * so another user cannot move the cursor or recolour the terminal with escape
 * sequences hidden in a message.
 */
import type {
  ChatMessage,
  ConversationRow,
  GroupConversationRow,
  GroupUpdatedPayload,
  PresencePayload,
  Reaction,
  ReplyTo,
} from "../protocol/types.ts";

/** What the CLI has open: a partner (their user id), a group, or nothing. */
export type OpenChat = string | { groupId: string; name: string } | null;

/** A group as the CLI names it: `#Weekend trip`. */
export function groupLabel(name: string): string {
  return `#${clean(name)}`;
}

/** Whether `message` belongs to the conversation that is open. */
export function inConversation(message: ChatMessage, open: OpenChat): boolean {
  if (open === null) return false;
  if (typeof open !== "string") return message.groupId === open.groupId;
  return !message.groupId && (message.senderId === open || message.receiverId === open);
}

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
 * `[12:01] bob: hi` for the conversation on screen (a group's too: the sender
 * names each line); `[12:01] carol → alice: hi`, or `[12:01] carol → #Team: hi`
 * for a group, for any other, so that a message from elsewhere cannot pass for
 * the open one. `groupName` names a group by its id (else the id shows).
 * A reply starts with its quote, an edited message ends with `(edited)`, then
 * come its reactions: `[12:01] bob: (reply to alice: "lunch?") yes (edited) [👍 1]`.
 */
export function messageLine(
  message: ChatMessage,
  open: OpenChat,
  groupName: (groupId: string) => string | undefined = () => undefined,
): string {
  const where = message.groupId
    ? groupLabel(groupName(message.groupId) ?? message.groupId)
    : clean(message.receiverId ?? "");
  const who = inConversation(message, open)
    ? clean(message.senderId)
    : `${clean(message.senderId)} → ${where}`;
  const edited = message.editedAt ? " (edited)" : "";
  return `[${clock(message.createdAt)}] ${who}: ${quote(message.replyTo)}${body(message)}${edited}${
    reactionsPart(message.reactions)
  }`;
}

/** `  bob [online] 2 unread · bob: hi`; a group: `  #Team [group of 3] 2 unread · bob: hi` */
export function conversationLine(row: ConversationRow | GroupConversationRow, me: string): string {
  const { lastMessage, unreadCount } = row;
  const last = lastMessage
    ? ` · ${lastMessage.senderId === me ? "you" : clean(lastMessage.senderId)}: ${
      shorten(body(lastMessage), 60)
    }`
    : "";
  if ("group" in row) {
    const { name, memberIds } = row.group;
    return `  ${groupLabel(name)} [group of ${memberIds.length}] ${unreadCount} unread${last}`;
  }
  const { user } = row;
  const name = user.username && user.username !== user._id
    ? `${clean(user._id)} (${clean(user.username)})`
    : clean(user._id);
  return `  ${name} [${user.isOnline ? "online" : "offline"}] ${unreadCount} unread${last}`;
}

export function conversationList(
  rows: readonly (ConversationRow | GroupConversationRow)[],
  me: string,
): string[] {
  if (rows.length === 0) {
    return ["No conversations yet. Start one with /open <user> or /group <name> <user>…"];
  }
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

/** `* bob is typing…` / `* bob stopped typing`; in a group `* bob is typing… in #Team` */
export function typingLine(userId: string, isTyping: boolean, group?: string): string {
  const where = group === undefined ? "" : ` in ${groupLabel(group)}`;
  return isTyping
    ? `* ${clean(userId)} is typing…${where}`
    : `* ${clean(userId)} stopped typing${where}`;
}

/** `alice, you, bob`: members as `me` reads them. */
function members(userIds: readonly string[], me: string): string {
  return userIds.map((id) => id === me ? "you" : clean(id)).join(", ");
}

/**
 * A group change as one line: `* alice created #Team: alice, you, bob`,
 * `* #Team: dave joined`, `* #Team: carol left (owner: bob)`, `* you left #Team`,
 * `* #Team: bob was removed`, `* you were removed from #Team`, `* #Team: renamed`.
 */
export function groupUpdateLine({ group, change }: GroupUpdatedPayload, me: string): string {
  const label = groupLabel(group.name);
  const who = change.userIds ?? [];
  const mine = who.includes(me);
  switch (change.type) {
    case "created":
      return `* ${clean(group.ownerId)} created ${label}: ${members(group.memberIds, me)}`;
    case "membersAdded":
      return mine
        ? `* you were added to ${label}: ${members(group.memberIds, me)} (/open ${label})`
        : `* ${label}: ${members(who, me)} joined`;
    case "memberRemoved":
      return mine
        ? `* you were removed from ${label}`
        : `* ${label}: ${members(who, me)} was removed`;
    case "left":
      return mine
        ? `* you left ${label}`
        : `* ${label}: ${members(who, me)} left (owner: ${members([group.ownerId], me)})`;
    case "renamed":
      return `* the group is now called ${label}`;
  }
}

/** `! CODE: message` */
export function errorLine(code: string, message: string): string {
  return `! ${clean(code)}: ${clean(message)}`;
}

export function shorten(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
