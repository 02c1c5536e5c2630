/**
 * The chat rules on a real store (SQLite in memory). The realtime side is the
 * one stand-in: a broadcaster and a live delivery that record what would go to
 * which users, since Socket.IO rooms are what tests/ exercises over a real port.
 */
import { AppError, type ErrorCode } from "../errors.ts";
import type { ChatMessage, FileAttachment } from "../protocol/types.ts";
import type { StoreBackend } from "../store/backend.ts";
import { assert, assertEquals, assertRejects } from "../../tests/helpers/assert.ts";
import { memoryBackend } from "../../tests/helpers/memory_backend.ts";
import type { Broadcaster } from "./broadcaster.ts";
import { ChatService, type LiveDelivery } from "./chat_service.ts";
import type { MessageHooks } from "./message_hooks.ts";

type Sent = { to: string[]; except?: string; event: string; payload: unknown };

/** Records every notification instead of sending it. */
class RecordingNotifier implements Broadcaster, LiveDelivery {
  readonly sent: Sent[] = [];
  readonly delivered: { receiverId: string; message: ChatMessage }[] = [];

  toUsers(userIds: readonly string[], event: string, payload: unknown): void {
    this.sent.push({ to: [...userIds], event, payload });
  }
  toUsersExcept(
    connectionId: string | undefined,
    userIds: readonly string[],
    event: string,
    payload: unknown,
  ): void {
    this.sent.push({ to: [...userIds], except: connectionId, event, payload });
  }
  toEveryone(event: string, payload: unknown): void {
    this.sent.push({ to: ["*"], event, payload });
  }
  toEveryoneExcept(userIds: readonly string[], event: string, payload: unknown): void {
    this.sent.push({ to: ["*"], except: userIds.join(","), event, payload });
  }
  deliver(receiverId: string, message: ChatMessage): void {
    this.delivered.push({ receiverId, message });
  }
  deliverToMany(receiverIds: readonly string[], message: ChatMessage): void {
    for (const receiverId of receiverIds) this.delivered.push({ receiverId, message });
  }
  /** What was recorded so far, forgotten for the next step. */
  take() {
    const taken = { sent: this.sent.splice(0), delivered: this.delivered.splice(0) };
    return taken;
  }
}

interface Fixture extends AsyncDisposable {
  chat: ChatService;
  notifier: RecordingNotifier;
  backend: StoreBackend;
}

async function fixture(hooks: MessageHooks = {}): Promise<Fixture> {
  const backend = await memoryBackend();
  const notifier = new RecordingNotifier();
  return {
    chat: new ChatService(backend.chat, notifier, notifier, hooks),
    notifier,
    backend,
    [Symbol.asyncDispose]: () => backend[Symbol.asyncDispose](),
  };
}

function refusedWith(code: ErrorCode) {
  return (err: unknown) => {
    assert(err instanceof AppError, String(err));
    assertEquals(err.code, code);
  };
}

Deno.test("ChatService.sendMessage() stores, delivers to the receiver and echoes to the sender's other connections", async () => {
  await using f = await fixture();
  const { message, duplicate } = await f.chat.sendMessage(
    "alice",
    { receiverId: "bob", text: "hi" },
    "alice-tab-1",
  );
  assertEquals(duplicate, false);
  assertEquals([message.senderId, message.receiverId, message.text], ["alice", "bob", "hi"]);
  const { sent, delivered } = f.notifier.take();
  assertEquals(delivered, [{ receiverId: "bob", message }]);
  assertEquals(sent, [{
    to: ["alice"],
    except: "alice-tab-1",
    event: "messageSent",
    payload: message,
  }]);
  assertEquals(
    await f.chat.history("bob", { userId1: "alice", userId2: "bob", limit: 50, skip: 0 }),
    [
      message,
    ],
  );
});

Deno.test("ChatService.sendMessage() answers a repeated clientMessageId with the original, delivered once", async () => {
  const sentHook: string[] = [];
  await using f = await fixture({ sent: (m) => void sentHook.push(m._id) });
  const input = { receiverId: "bob", text: "once", clientMessageId: "c-1" };
  const first = await f.chat.sendMessage("alice", input);
  f.notifier.take();
  const again = await f.chat.sendMessage("alice", { ...input, text: "changed" });
  assertEquals(again, { message: first.message, duplicate: true });
  const { sent, delivered } = f.notifier.take();
  assertEquals(delivered, [], "not delivered twice");
  // The sender's other tabs may have missed the first echo: they get the original again.
  assertEquals(sent.map((s) => s.event), ["messageSent"]);
  assertEquals(sentHook, [first.message._id]);
});

Deno.test("ChatService.sendMessage() refuses sending as someone else or to oneself, storing nothing", async () => {
  await using f = await fixture();
  await assertRejects(
    () => f.chat.sendMessage("alice", { senderId: "mallory", receiverId: "bob", text: "x" }),
    refusedWith("FORBIDDEN"),
  );
  await assertRejects(
    () => f.chat.sendMessage("alice", { receiverId: "alice", text: "x" }),
    refusedWith("VALIDATION_ERROR"),
  );
  assertEquals(await f.chat.myChats("alice", { limit: 50, skip: 0 }), []);
  assertEquals(f.notifier.take(), { sent: [], delivered: [] });
  // Naming oneself as sender is allowed.
  await f.chat.sendMessage("alice", { senderId: "alice", receiverId: "bob", text: "x" });
});

Deno.test("ChatService.sendMessage() stores the attachment as checkFile returns it, and empty text as null", async () => {
  const file: FileAttachment = {
    url: "https://files.example/a.png",
    type: "document",
    name: "a.png",
    size: 70,
  };
  await using f = await fixture({
    checkFile: (_sender, given) => Promise.resolve({ ...given, type: "image" }),
  });
  const { message } = await f.chat.sendMessage("alice", { receiverId: "bob", text: "", file });
  assertEquals(message.file, { ...file, type: "image" });
  assertEquals(message.text, null);
});

Deno.test("ChatService.typing() tells the receiver, and nobody when typing to oneself", async () => {
  await using f = await fixture();
  await f.chat.typing("alice", { receiverId: "bob", isTyping: true });
  await f.chat.typing("alice", { receiverId: "alice", isTyping: true });
  assertEquals(f.notifier.take().sent, [
    { to: ["bob"], event: "userTyping", payload: { userId: "alice", isTyping: true } },
  ]);
});

Deno.test("ChatService.history() is for the two participants only, and pages oldest first", async () => {
  await using f = await fixture();
  const ids: string[] = [];
  for (const text of ["m0", "m1", "m2", "m3"]) {
    ids.push((await f.chat.sendMessage("alice", { receiverId: "bob", text })).message._id);
  }
  await assertRejects(
    () => f.chat.history("carol", { userId1: "alice", userId2: "bob", limit: 50, skip: 0 }),
    refusedWith("FORBIDDEN"),
  );
  const texts = async (query: { limit: number; skip: number; before?: string }) =>
    (await f.chat.history("bob", { userId1: "bob", userId2: "alice", ...query })).map((m) =>
      m.text
    );
  assertEquals(await texts({ limit: 50, skip: 0 }), ["m0", "m1", "m2", "m3"]);
  assertEquals(await texts({ limit: 2, skip: 0 }), ["m2", "m3"]);
  assertEquals(await texts({ limit: 2, skip: 0, before: ids[2] }), ["m0", "m1"]);
});

Deno.test("ChatService.markRead() lets the receiver mark once; a repeat answers the same receipt, telling nobody", async () => {
  await using f = await fixture();
  const { message } = await f.chat.sendMessage("alice", { receiverId: "bob", text: "read me" });
  await assertRejects(() => f.chat.markRead("alice", message._id), refusedWith("FORBIDDEN"));
  await assertRejects(
    () => f.chat.markRead("bob", "01ARZ3NDEKTSV4RRFFQ69G5FAV"),
    refusedWith("NOT_FOUND"),
  );
  f.notifier.take();

  const receipt = await f.chat.markRead("bob", message._id, "bob-tab-1");
  assertEquals([receipt.messageId, receipt.readerId], [message._id, "bob"]);
  assert(!Number.isNaN(Date.parse(receipt.readAt)), receipt.readAt);
  assertEquals(f.notifier.take().sent, [
    { to: ["alice", "bob"], except: "bob-tab-1", event: "messageRead", payload: receipt },
  ]);

  assertEquals(await f.chat.markRead("bob", message._id), receipt);
  assertEquals(f.notifier.take().sent, []);
});

Deno.test("ChatService.deleteMessage() is the sender's: both sides told, the hook run, the message gone", async () => {
  const deleted: string[] = [];
  await using f = await fixture({
    deleted: (m) => Promise.resolve(void deleted.push(m._id)),
  });
  const { message } = await f.chat.sendMessage("alice", { receiverId: "bob", text: "oops" });
  await assertRejects(() => f.chat.deleteMessage("bob", message._id), refusedWith("FORBIDDEN"));
  f.notifier.take();

  await f.chat.deleteMessage("alice", message._id);
  assertEquals(f.notifier.take().sent, [
    { to: ["alice", "bob"], event: "messageDeleted", payload: { messageId: message._id } },
  ]);
  assertEquals(deleted, [message._id]);
  await assertRejects(() => f.chat.deleteMessage("alice", message._id), refusedWith("NOT_FOUND"));
  assertEquals(await f.chat.myChats("bob", { limit: 50, skip: 0 }), []);
});

Deno.test("ChatService.conversations() names each partner, with defaults for one never seen", async () => {
  await using f = await fixture();
  await f.backend.chat.users.upsertProfile("bob", { username: "Bob" });
  await f.chat.sendMessage("alice", { receiverId: "bob", text: "to bob" });
  const last = (await f.chat.sendMessage("carol", { receiverId: "alice", text: "from carol" }))
    .message;
  const rows = await f.chat.conversations("alice", { limit: 50, skip: 0 });
  assertEquals(rows.map((r) => "user" in r && [r.user._id, r.user.username, r.unreadCount]), [
    ["carol", null, 1],
    ["bob", "Bob", 0],
  ]);
  assertEquals(rows[0]!.lastMessage, last);
  const first = rows[0]!;
  assert("user" in first);
  assertEquals(first.user.isOnline, false);
  assertEquals(first.user.lastSeen, null);
});
