import { clean, conversationLine, messageLine } from "../src/cli/format.ts";
import type { ChatMessage } from "../src/protocol/types.ts";
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
