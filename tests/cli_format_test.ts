import {
  clean,
  conversationLine,
  groupUpdateLine,
  messageLine,
  typingLine,
} from "../src/cli/format.ts";
import type { ChatMessage, Group } from "../src/protocol/types.ts";
import { assertEquals } from "./helpers/assert.ts";

const message: ChatMessage = {
  _id: "m1",
  senderId: "bob",
  receiverId: "alice",
  text: "hi",
  file: null,
  clientMessageId: null,
  createdAt: new Date(2026, 0, 2, 9, 5).toISOString(),
  updatedAt: new Date(2026, 0, 2, 9, 5).toISOString(),
  deliveredAt: null,
  readAt: null,
  editedAt: null,
  reactions: [],
  replyTo: null,
};

Deno.test("clean() keeps text on one line and drops terminal escape sequences", () => {
  assertEquals(clean("a\nb\r\nc"), "a ⏎ b ⏎ c");
  assertEquals(clean("\u001b[2J\u001b]0;owned\u0007red\u009b"), "[2J]0;ownedred");
  assertEquals(clean("tab\there"), "tab here");
});

Deno.test("messageLine() names the sender in the open conversation, both ends elsewhere", () => {
  assertEquals(messageLine(message, "bob"), "[09:05] bob: hi");
  assertEquals(messageLine(message, "carol"), "[09:05] bob → alice: hi");
  assertEquals(messageLine(message, null), "[09:05] bob → alice: hi");
  const file = {
    url: "https://x.example/a.pdf",
    type: "document",
    name: "a.pdf",
    size: 9,
  } as const;
  assertEquals(
    messageLine({ ...message, text: null, file }, "bob"),
    "[09:05] bob: [file: a.pdf, document, 9 bytes, https://x.example/a.pdf]",
  );
});

Deno.test("conversationLine() shows presence, unread count and the last message", () => {
  const row = {
    user: { _id: "bob", username: "Bob", isOnline: true, lastSeen: null },
    lastMessage: message,
    unreadCount: 3,
    muted: false,
    mutedUntil: null,
  };
  assertEquals(conversationLine(row, "alice"), "  bob (Bob) [online] 3 unread · bob: hi");
  assertEquals(
    conversationLine({ ...row, lastMessage: null, unreadCount: 0 }, "alice"),
    "  bob (Bob) [online] 0 unread",
  );
});

const team: Group = {
  _id: "g1",
  name: "Team",
  ownerId: "alice",
  memberIds: ["alice", "bob", "carol"],
  createdAt: message.createdAt,
  updatedAt: message.createdAt,
};
const inTeam: ChatMessage = { ...message, receiverId: null, groupId: "g1" };

Deno.test("messageLine() in a group: the sender in the open group, the group's name elsewhere", () => {
  const open = { groupId: "g1", name: "Team" };
  assertEquals(messageLine(inTeam, open), "[09:05] bob: hi");
  const names = (id: string) => id === "g1" ? "Team" : undefined;
  assertEquals(messageLine(inTeam, "bob", names), "[09:05] bob → #Team: hi");
  assertEquals(messageLine(inTeam, null), "[09:05] bob → #g1: hi");
  // A 1:1 message from a member is not a line of the open group.
  assertEquals(messageLine(message, open), "[09:05] bob → alice: hi");
});

Deno.test("conversationLine() of a group: its name, size, unread count and last message", () => {
  const row = { group: team, lastMessage: inTeam, unreadCount: 2, muted: false, mutedUntil: null };
  assertEquals(conversationLine(row, "alice"), "  #Team [group of 3] 2 unread · bob: hi");
});

Deno.test("groupUpdateLine() says each change as the reader sees it", () => {
  const line = (
    type: "created" | "membersAdded" | "memberRemoved" | "left" | "renamed",
    userIds?: string[],
    me = "bob",
  ) => groupUpdateLine({ group: team, change: { type, userIds } }, me);
  assertEquals(line("created", team.memberIds), "* alice created #Team: alice, you, carol");
  assertEquals(line("membersAdded", ["carol"]), "* #Team: carol joined");
  assertEquals(
    line("membersAdded", ["bob"]),
    "* you were added to #Team: alice, you, carol (/open #Team)",
  );
  assertEquals(line("memberRemoved", ["dave"]), "* #Team: dave was removed");
  assertEquals(line("memberRemoved", ["bob"]), "* you were removed from #Team");
  assertEquals(line("left", ["dave"]), "* #Team: dave left (owner: alice)");
  assertEquals(line("left", ["bob"]), "* you left #Team");
  assertEquals(line("renamed"), "* the group is now called #Team");
  assertEquals(typingLine("bob", true, "Team"), "* bob is typing… in #Team");
});
