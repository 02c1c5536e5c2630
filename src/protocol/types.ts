/**
 * The wire contract of Parley: payload types and Socket.IO event maps, shared by
 * the server, the tests and TypeScript clients.
 *
 * Plain TypeScript that imports nothing, so that a client can copy this one file. The server's
 * zod schemas (src/schemas/) and its table of error codes (src/errors.ts) are held to these
 * types at compile time by tests/protocol_contract_types_test.ts.
 */

/** Every `code` a refusal may carry; src/errors.ts gives each its meaning and HTTP status. */
export type ErrorCode =
  | "VALIDATION_ERROR"
  | "UNAUTHORIZED"
  | "TOKEN_EXPIRED"
  | "FORBIDDEN"
  | "NOT_FOUND"
  | "DELETED"
  | "PAYLOAD_TOO_LARGE"
  | "QUOTA_EXCEEDED"
  | "SEARCH_UNAVAILABLE"
  | "UNSUPPORTED_TYPE"
  | "RANGE_NOT_SATISFIABLE"
  | "RATE_LIMITED"
  | "STORE_UNAVAILABLE"
  | "INTERNAL_ERROR";

/** A file a message carries: an upload of this server (`POST /api/uploads`) or any http(s) URL. */
export interface FileAttachment {
  /** An http(s) URL, at most 2048 characters. */
  url: string;
  type: "image" | "video" | "audio" | "document";
  /** The file name shown to people, 1 to 255 characters. */
  name: string;
  /** In bytes, a positive integer. */
  size: number;
}

/** A stored message as clients see it; times are ISO-8601 strings. */
export interface ChatMessage {
  _id: string;
  senderId: string;
  receiverId: string;
  text: string | null;
  file: FileAttachment | null;
  clientMessageId: string | null;
  createdAt: string;
  updatedAt: string;
  /** First acknowledgement of `receiveMessage` by any of the receiver's devices. */
  deliveredAt: string | null;
  readAt: string | null;
  /** When the sender last edited the text; null until edited. */
  editedAt: string | null;
  /** One entry per emoji, in the order each was first added; empty when none. */
  reactions: Reaction[];
  /** The message this one replies to, as it was when this one was sent; null when not a reply. */
  replyTo: ReplyTo | null;
}

/** The users who reacted to a message with one emoji, in the order they did. */
export interface Reaction {
  emoji: string;
  userIds: string[];
}

/** A snapshot of the quoted message, taken when the reply was sent (later edits do not change it). */
export interface QuotedMessage {
  _id: string;
  senderId: string;
  /** Its first 200 characters. */
  text: string | null;
  file: Pick<FileAttachment, "name" | "type"> | null;
}

/** What a reply shows once its quoted message was deleted: the id only. */
export interface DeletedQuote {
  _id: string;
  deleted: true;
}

export type ReplyTo = QuotedMessage | DeletedQuote;

export interface UserSummary {
  _id: string;
  username: string | null;
  isOnline: boolean;
  lastSeen: string | null;
}

export interface ConversationRow {
  user: UserSummary;
  lastMessage: ChatMessage | null;
  unreadCount: number;
}

export interface SendMessagePayload {
  senderId?: string;
  receiverId: string;
  text?: string | null;
  file?: FileAttachment | null;
  clientMessageId?: string;
}

export interface TypingPayload {
  receiverId: string;
  isTyping: boolean;
}

export interface ChatHistoryPayload {
  userId1: string;
  userId2: string;
  limit?: number;
  skip?: number;
  before?: string;
}

export interface MessageReadPayload {
  messageId: string;
}

export interface ErrorPayload {
  error: string;
  code: ErrorCode;
  /** With RATE_LIMITED: wait this long before retrying. */
  retryAfterMs?: number;
  /** The client event that failed, so that a client can tell failures apart. */
  event?: keyof ClientToServerEvents;
}

export interface PresencePayload {
  userId: string;
  isOnline: boolean;
  lastSeen: string | null;
}

export interface UserTypingPayload {
  userId: string;
  isTyping: boolean;
}

export interface ReadReceiptPayload {
  messageId: string;
  readerId: string;
  readAt: string;
}

export interface DeliveryReceiptPayload {
  messageId: string;
  receiverId: string;
  deliveredAt: string;
}

export interface MessageDeletedPayload {
  messageId: string;
}

/** Every client event may take an ack; it always learns the fate of what it sent. */
export type AckResult<T> = ({ ok: true } & T) | ({ ok: false } & ErrorPayload);
export type Ack<T> = (result: AckResult<T>) => void;

export interface ClientToServerEvents {
  setUserId: (userId: string, ack?: Ack<{ userId: string }>) => void;
  sendMessage: (
    payload: SendMessagePayload,
    ack?: Ack<{ message: ChatMessage; duplicate?: true }>,
  ) => void;
  typing: (payload: TypingPayload, ack?: Ack<Record<never, never>>) => void;
  getChatHistory: (payload: ChatHistoryPayload, ack?: Ack<{ messages: ChatMessage[] }>) => void;
  messageRead: (payload: MessageReadPayload, ack?: Ack<ReadReceiptPayload>) => void;
}

export interface ServerToClientEvents {
  /**
   * A message for this user. Call `ack()` once it is stored or shown: the
   * sender then gets `messageDelivered`, and the message is not sent again.
   */
  receiveMessage: (message: ChatMessage, ack: () => void) => void;
  messageSent: (message: ChatMessage) => void;
  messageError: (error: ErrorPayload) => void;
  userOnline: (presence: PresencePayload) => void;
  userTyping: (typing: UserTypingPayload) => void;
  chatHistory: (messages: ChatMessage[]) => void;
  messageRead: (receipt: ReadReceiptPayload) => void;
  messageDelivered: (receipt: DeliveryReceiptPayload) => void;
  messageDeleted: (deleted: MessageDeletedPayload) => void;
}

// deno-lint-ignore no-empty-interface
export interface InterServerEvents {}

/** Who a verified token says the caller is: its `sub`, and the names it carries. */
export interface Identity {
  userId: string;
  username?: string;
  email?: string;
  /** Expiry in epoch seconds, when the token has one. */
  expiresAt?: number;
}

/** What the auth middleware leaves on `socket.data`: the socket's verified identity. */
export type SocketData = Identity;
