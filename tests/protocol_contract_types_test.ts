/**
 * Locks the wire contract at the type level: a TypeScript client typed with
 * `Socket<ServerToClientEvents, ClientToServerEvents>` (and the server typed
 * with the same maps) gets a compile error for a wrong event name or payload.
 *
 * The server's event handlers are held to the same maps: a handler that
 * answers the wrong shape, or validates with a schema that does not produce
 * the event's payload, does not compile either.
 *
 * Nothing here runs against a server: `deno check` and `deno test` type-check
 * the file, and every `@ts-expect-error` line fails the check if the error it
 * expects ever goes away (that is, if the contract loosens).
 */
import type { Socket } from "socket.io-client";
import type {
  ChatMessage,
  ClientToServerEvents,
  ErrorCode,
  PresencePayload,
  ReadReceiptPayload,
  ServerToClientEvents,
} from "../src/protocol/types.ts";
import { request } from "../src/protocol/client.ts";
import { type EventContext, onEvent } from "../src/realtime/event_handler.ts";
import type { ParleyServer, ParleySocket } from "../src/realtime/io.ts";
import {
  BlockUserInput,
  ChatHistoryInput,
  EditMessageInput,
  MessageReadInput,
  ReactionInput,
  SendMessageInput,
  TypingInput,
  UserId,
} from "../src/schemas/inputs.ts";
import { assertEquals } from "./helpers/assert.ts";

type Client = Socket<ServerToClientEvents, ClientToServerEvents>;

/** Compiles only when `value` is a `T`. */
function expectType<T>(_value: T): void {}

const file = {
  url: "https://cdn.example.com/cat.png",
  type: "image",
  name: "cat.png",
  size: 1234,
} as const;

/** What a client may send, and what it may not. */
async function clientEmits(socket: Client): Promise<void> {
  socket.emit("sendMessage", { receiverId: "bob", text: "hi" });
  socket.emit("sendMessage", { receiverId: "bob", file, clientMessageId: "c-1" }, (result) => {
    if (result.ok) expectType<ChatMessage>(result.message);
    else expectType<ErrorCode>(result.code);
  });
  socket.emit("typing", { receiverId: "bob", isTyping: true });
  socket.emit("getChatHistory", { userId1: "alice", userId2: "bob", limit: 20, before: "m-1" });
  socket.emit("messageRead", { messageId: "m-1" });
  socket.emit("setUserId", "alice");
  socket.emit("sendMessage", { receiverId: "bob", text: "yes", replyTo: "m-1" });
  socket.emit("editMessage", { messageId: "m-1", text: "fixed" }, (result) => {
    if (result.ok) expectType<string | null>(result.message.editedAt);
  });
  socket.emit("addReaction", { messageId: "m-1", emoji: "👍" }, (result) => {
    if (result.ok) expectType<{ emoji: string; userIds: string[] }[]>(result.message.reactions);
  });
  socket.emit("removeReaction", { messageId: "m-1", emoji: "👍" });
  socket.emit("blockUser", { userId: "bob" }, (result) => {
    if (result.ok) expectType<boolean>(result.blocked);
  });
  socket.emit("unblockUser", { userId: "bob" });
  socket.emit("createGroup", { name: "Team", memberIds: ["bob", "carol"] }, (result) => {
    if (result.ok) expectType<string[]>(result.group.memberIds);
  });
  socket.emit("addGroupMembers", { groupId: "g-1", userIds: ["dave"] });
  socket.emit("removeGroupMember", { groupId: "g-1", userId: "dave" });
  socket.emit("leaveGroup", { groupId: "g-1" });
  socket.emit("renameGroup", { groupId: "g-1", name: "Crew" });
  socket.emit("markGroupRead", { groupId: "g-1", messageId: "m-1" }, (result) => {
    if (result.ok) expectType<string>(result.readAt);
  });
  socket.emit("sendMessage", { groupId: "g-1", text: "hi all" });
  socket.emit("typing", { groupId: "g-1", isTyping: true });
  socket.emit("getChatHistory", { groupId: "g-1", limit: 20 });
  // @ts-expect-error memberIds is a list of user ids
  socket.emit("createGroup", { name: "Team", memberIds: "bob" });
  // @ts-expect-error removeGroupMember names one userId
  socket.emit("removeGroupMember", { groupId: "g-1", userIds: ["dave"] });

  // @ts-expect-error replyTo is a message id, not a message
  socket.emit("sendMessage", { receiverId: "bob", text: "yes", replyTo: { _id: "m-1" } });
  // @ts-expect-error editMessage needs the new text
  socket.emit("editMessage", { messageId: "m-1" });
  // @ts-expect-error an emoji is a string
  socket.emit("addReaction", { messageId: "m-1", emoji: 128077 });
  // @ts-expect-error removeReaction needs the emoji
  socket.emit("removeReaction", { messageId: "m-1" });
  // @ts-expect-error blockUser takes { userId }
  socket.emit("blockUser", "bob");

  // emitWithAck checks the event name only: while the maps declare acks
  // optional (`ack?:`), socket.io-client types its payload and its result as
  // `any` (it cannot split `[payload, ack?]`). The callback form above is typed.
  await socket.timeout(1000).emitWithAck("typing", { receiverId: "bob", isTyping: false });
  // @ts-expect-error emitWithAck checks the event name
  await socket.emitWithAck("typo", { receiverId: "bob", isTyping: false });

  // @ts-expect-error groupId is a string
  socket.emit("sendMessage", { groupId: 7, text: "hi" });
  // @ts-expect-error text is a string
  socket.emit("sendMessage", { receiverId: "bob", text: 42 });
  // @ts-expect-error file.type is one of image, video, audio, document
  socket.emit("sendMessage", { receiverId: "bob", file: { ...file, type: "exe" } });
  // @ts-expect-error file.size is a number
  socket.emit("sendMessage", { receiverId: "bob", file: { ...file, size: "1 KB" } });
  // @ts-expect-error isTyping is a boolean, not a string
  socket.emit("typing", { receiverId: "bob", isTyping: "yes" });
  // @ts-expect-error typing needs isTyping
  socket.emit("typing", { groupId: "g-1" });
  // @ts-expect-error limit is a number
  socket.emit("getChatHistory", { userId1: "alice", userId2: "bob", limit: "20" });
  // @ts-expect-error a group's history takes one groupId
  socket.emit("getChatHistory", { groupId: ["g-1"] });
  // @ts-expect-error messageRead takes { messageId }
  socket.emit("messageRead", { id: "m-1" });
  // @ts-expect-error setUserId takes the id itself
  socket.emit("setUserId", { userId: "alice" });
  // @ts-expect-error unknown event name (a typo)
  socket.emit("sendMesage", { receiverId: "bob", text: "hi" });
  // @ts-expect-error a server event cannot be emitted by the client
  socket.emit("receiveMessage", { receiverId: "bob", text: "hi" });
  socket.emit("sendMessage", { receiverId: "bob", text: "hi" }, (result) => {
    // @ts-expect-error error codes come from the closed list
    if (!result.ok && result.code === "TIMEOUT") return;
  });
}

/** What a client may listen to, with which payloads. */
function clientListens(socket: Client): void {
  socket.on("receiveMessage", (message, ack) => {
    expectType<string | null>(message.text);
    expectType<string | null>(message.readAt);
    ack();
  });
  socket.on("messageSent", (message) => expectType<string>(message.createdAt));
  socket.on("userTyping", ({ userId, isTyping }) => {
    expectType<string>(userId);
    expectType<boolean>(isTyping);
  });
  socket.on("userOnline", (presence) => expectType<PresencePayload>(presence));
  socket.on("messageRead", ({ messageId, readerId, readAt }) => {
    expectType<string>(messageId + readerId + readAt);
  });
  socket.on("messageDeleted", ({ messageId }) => expectType<string>(messageId));
  socket.on("messageEdited", ({ messageId, text, editedAt }) => {
    expectType<string>(messageId + text + editedAt);
  });
  socket.on("messageReaction", ({ messageId, userId, emoji, added }) => {
    expectType<string>(messageId + userId + emoji);
    expectType<boolean>(added);
  });
  // @ts-expect-error messageEdited's text is a string (an edit never empties it)
  socket.on("messageEdited", (edited: { text: null }) => edited);
  // @ts-expect-error added is a boolean
  socket.on("messageReaction", (reaction: { added: "yes" }) => reaction);
  socket.on("chatHistory", (messages) => expectType<ChatMessage[]>(messages));
  socket.on("groupUpdated", ({ group, change }) => {
    expectType<string>(group.ownerId);
    expectType<string[] | undefined>(change.userIds);
  });
  socket.on("groupRead", ({ groupId, userId, messageId, readAt }) => {
    expectType<string>(groupId + userId + messageId + readAt);
  });
  socket.on("userTyping", ({ groupId }) => expectType<string | undefined>(groupId));
  socket.on("session", ({ userId, username }) => expectType<string>(userId + (username ?? "")));
  // @ts-expect-error a session's username is a string or null, never missing
  socket.on("session", (session: { username: undefined }) => session);
  // @ts-expect-error a change's type is one of the five
  socket.on("groupUpdated", (update: { change: { type: "deleted" } }) => update);
  socket.on("messageError", ({ code, event }) => {
    expectType<ErrorCode>(code);
    expectType<keyof ClientToServerEvents | undefined>(event);
  });

  // @ts-expect-error unknown server event name
  socket.on("newMessage", () => {});
  // @ts-expect-error a listener with the wrong payload type: text is string | null
  socket.on("receiveMessage", (message: { text: number }) => expectType<number>(message.text));
  // @ts-expect-error isTyping is a boolean
  socket.on("userTyping", (typing: { userId: string; isTyping: string }) => typing);
  socket.on("messageSent", (message) => {
    // @ts-expect-error _id is a string
    expectType<number>(message._id);
  });
}

/** The server is typed with the same maps: it cannot send a wrong payload either. */
function serverEmits(io: ParleyServer, message: ChatMessage): void {
  io.to("user:bob").emit("receiveMessage", message, () => {});
  io.to("user:bob").emit("userTyping", { userId: "alice", isTyping: true });
  io.emit("userOnline", { userId: "alice", isOnline: false, lastSeen: null });

  // @ts-expect-error userTyping needs isTyping
  io.to("user:bob").emit("userTyping", { userId: "alice" });
  // @ts-expect-error lastSeen is a string or null, not a Date
  io.emit("userOnline", { userId: "alice", isOnline: true, lastSeen: new Date() });
  // @ts-expect-error messageDeleted carries { messageId }
  io.emit("messageDeleted", { id: message._id });
  // @ts-expect-error a client event cannot be emitted by the server
  io.emit("sendMessage", { receiverId: "bob", text: "hi" });
}

/**
 * A server handler's input comes from its schema, which must produce the payload the event map
 * declares, and its result must be the body of that event's ack.
 */
function serverHandles(
  socket: ParleySocket,
  context: EventContext,
  message: ChatMessage,
  receipt: ReadReceiptPayload,
): void {
  onEvent(socket, context, "sendMessage", SendMessageInput, (input) => {
    // Exactly one of the two; the schema checks it at run time.
    expectType<string | undefined>(input.receiverId);
    expectType<string | undefined>(input.groupId);
    return { message };
  });
  onEvent(socket, context, "sendMessage", SendMessageInput, () => ({ message, duplicate: true }));
  onEvent(socket, context, "getChatHistory", ChatHistoryInput, (input) => {
    // The schema's defaults are applied: the handler sees a limit, always.
    expectType<number>(input.limit);
    return Promise.resolve({ messages: [message] });
  });
  onEvent(socket, context, "messageRead", MessageReadInput, () => receipt);
  onEvent(socket, context, "typing", TypingInput, () => ({}));
  onEvent(socket, context, "editMessage", EditMessageInput, () => ({ message }));
  onEvent(socket, context, "addReaction", ReactionInput, () => ({ message }));
  onEvent(socket, context, "removeReaction", ReactionInput, () => ({ message }));
  onEvent(
    socket,
    context,
    "blockUser",
    BlockUserInput,
    ({ userId }) => ({ userId, blocked: true }),
  );
  onEvent(
    socket,
    context,
    "unblockUser",
    BlockUserInput,
    ({ userId }) => ({ userId, blocked: false }),
  );

  // @ts-expect-error editMessage answers { message }
  onEvent(socket, context, "editMessage", EditMessageInput, () => ({ text: "hi" }));
  // @ts-expect-error addReaction validates { messageId, emoji }, not { messageId, text }
  onEvent(socket, context, "addReaction", EditMessageInput, () => ({ message }));
  // @ts-expect-error blockUser answers { userId, blocked }
  onEvent(socket, context, "blockUser", BlockUserInput, ({ userId }) => ({ userId }));

  // @ts-expect-error sendMessage answers { message }, not { msg }
  onEvent(socket, context, "sendMessage", SendMessageInput, () => ({ msg: message }));
  // @ts-expect-error duplicate is `true` when present, never false
  onEvent(socket, context, "sendMessage", SendMessageInput, () => ({ message, duplicate: false }));
  // @ts-expect-error an async handler is held to the same shape
  onEvent(socket, context, "sendMessage", SendMessageInput, () => Promise.resolve({ text: "hi" }));
  // @ts-expect-error getChatHistory answers { messages: ChatMessage[] }
  onEvent(socket, context, "getChatHistory", ChatHistoryInput, () => ({ messages: message }));
  // @ts-expect-error setUserId answers { userId }
  onEvent(socket, context, "setUserId", UserId, (userId) => ({ user: userId }));
  // @ts-expect-error a schema that does not produce the event's payload: no receiverId
  onEvent(socket, context, "sendMessage", MessageReadInput, () => ({ message }));
  // @ts-expect-error setUserId's payload is the id itself, not an object
  onEvent(socket, context, "setUserId", MessageReadInput, () => ({ userId: "alice" }));
  // @ts-expect-error no such event
  onEvent(socket, context, "sendMessages", SendMessageInput, () => ({ message }));
}

Deno.test("protocol types: the event maps reject wrong payloads at compile time", () => {
  // The checks above are done by the type checker; these functions never run.
  assertEquals([clientEmits, clientListens, serverEmits, serverHandles].map((f) => typeof f), [
    "function",
    "function",
    "function",
    "function",
  ]);
});

/** `request()` types both the payload and the acknowledgement. */
async function typedRequests(socket: Client): Promise<void> {
  const sent = await request(socket, "sendMessage", { receiverId: "bob", text: "hi" });
  if (sent.ok) expectType<ChatMessage>(sent.message);
  else expectType<ErrorCode>(sent.code);
  const history = await request(socket, "getChatHistory", { userId1: "a", userId2: "b" });
  if (history.ok) expectType<ChatMessage[]>(history.messages);
  // @ts-expect-error groupId is a string
  await request(socket, "sendMessage", { groupId: 1, text: "hi" });
  // @ts-expect-error isTyping is a boolean
  await request(socket, "typing", { receiverId: "bob", isTyping: "yes" });
  // @ts-expect-error no such event
  await request(socket, "sendMessages", { receiverId: "bob" });
  const read = await request(socket, "messageRead", { messageId: "m1" });
  // @ts-expect-error `readAt` exists only once `ok` is known to be true
  read.readAt;
}

Deno.test("request() is typed end to end (checked at compile time)", () => {
  assertEquals(typeof typedRequests, "function");
});
