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
  /** What kind of file it is, which decides how clients show it. */
  type: "image" | "video" | "audio" | "document";
  /** The file name shown to people, 1 to 255 characters. */
  name: string;
  /** In bytes, a positive integer. */
  size: number;
}

/** A stored message as clients see it; times are ISO-8601 strings. */
export interface ChatMessage {
  /** A ULID (SQLite) or an ObjectId (MongoDB); both sort by arrival. */
  _id: string;
  /** The user who sent it: the `sub` of their token. */
  senderId: string;
  /** The user it was sent to; null on a group message (`groupId` says which group). */
  receiverId: string | null;
  /**
   * The group a group message was sent to; null (or absent, from servers before groups) on a
   * 1:1 message.
   */
  groupId?: string | null;
  /** Trimmed, 1 to 5000 characters; null when the message is a file only. */
  text: string | null;
  /** The attached file; null when there is none. */
  file: FileAttachment | null;
  /**
   * The id the sender's client gave it (a resend with it stores nothing); null when none was given.
   */
  clientMessageId: string | null;
  /** When the server stored it. */
  createdAt: string;
  /** When the stored message last changed. */
  updatedAt: string;
  /** First acknowledgement of `receiveMessage` by any of the receiver's devices. */
  deliveredAt: string | null;
  /** When the receiver first marked it read (`messageRead`); null until then. */
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
  /** The emoji of this entry. */
  emoji: string;
  /** Who reacted with it, in the order they did. */
  userIds: string[];
}

/** A snapshot of the quoted message, taken when the reply was sent (later edits do not change it). */
export interface QuotedMessage {
  /** The quoted message's id. */
  _id: string;
  /** Who sent the quoted message. */
  senderId: string;
  /** Its first 200 characters. */
  text: string | null;
  /** The name and type of its file; null when it had none. */
  file: Pick<FileAttachment, "name" | "type"> | null;
}

/** What a reply shows once its quoted message was deleted: the id only. */
export interface DeletedQuote {
  /** The deleted message's id. */
  _id: string;
  /** Always true: the quoted message is gone. */
  deleted: true;
}

/** What `replyTo` shows: the quoted message, or only its id once it was deleted. */
export type ReplyTo = QuotedMessage | DeletedQuote;

/** A user as the conversation list shows them. */
export interface UserSummary {
  /** The user's id (their token's `sub`). */
  _id: string;
  /** From the user's token (`username`, `preferred_username` or `name`); null when none had one. */
  username: string | null;
  /** True while the user has a socket connected. */
  isOnline: boolean;
  /** When the user last came online or went offline; null when never connected. */
  lastSeen: string | null;
}

/** A group conversation: 2 to `MAX_GROUP_MEMBERS` (default 256) members, one of them its owner. */
export interface Group {
  /** A ULID (SQLite) or an ObjectId (MongoDB). */
  _id: string;
  /** 1 to 100 characters, trimmed. */
  name: string;
  /** The member who may add and remove members; the earliest joined when the owner leaves. */
  ownerId: string;
  /** Every member, owner included, in the order they joined. */
  memberIds: string[];
  /** When the group was created. */
  createdAt: string;
  /** When its name or members last changed. */
  updatedAt: string;
}

/** A group's row of `GET /api/chats/conversations`, beside the 1:1 rows (`ConversationRow`). */
export interface GroupConversationRow {
  /** The group. */
  group: Group;
  /** The group's newest message the caller did not delete for themselves; null before the first. */
  lastMessage: ChatMessage | null;
  /** Messages after the caller's read pointer (`markGroupRead`), not sent by the caller. */
  unreadCount: number;
  /** The caller muted the group (no push notifications), and the mute has not ended. */
  muted: boolean;
  /** When the caller's mute ends; null when open-ended or not muted. */
  mutedUntil: string | null;
}

/** One row of `GET /api/chats/conversations`: a partner and the newest message between the two. */
export interface ConversationRow {
  /** The conversation partner. */
  user: UserSummary;
  /** The newest message between the two; null when there is none. */
  lastMessage: ChatMessage | null;
  /** Messages from the partner the caller has not marked read. */
  unreadCount: number;
  /** The caller muted this conversation (no push notifications), and the mute has not ended. */
  muted: boolean;
  /** When the caller's mute ends; null when open-ended or not muted. */
  mutedUntil: string | null;
}

/** What `sendMessage` takes: `text`, `file` or both, to exactly one of `receiverId` and `groupId`. */
export interface SendMessagePayload {
  /** For clients of the brief: when given, it must be the token's user (else FORBIDDEN). */
  senderId?: string;
  /** The user to send to (a 1:1 message); leave out with `groupId`. */
  receiverId?: string;
  /** The group to send to, of which the caller is a member (else FORBIDDEN); leave out with `receiverId`. */
  groupId?: string;
  /** Trimmed, at most 5000 characters; required unless `file` is given. */
  text?: string | null;
  /** An attached file; required unless `text` is given. */
  file?: FileAttachment | null;
  /**
   * The client's own id, 1 to 64 characters: a resend with it stores nothing and answers the
   * original (`duplicate: true`).
   */
  clientMessageId?: string;
  /**
   * The id of the message this one replies to; it must be in the same conversation (else
   * VALIDATION_ERROR). The stored message carries a snapshot of it (`ChatMessage.replyTo`).
   */
  replyTo?: string;
}

/** What `typing` takes: exactly one of `receiverId` and `groupId`. */
export interface TypingPayload {
  /** The user whose sockets get `userTyping`. */
  receiverId?: string;
  /** The group whose other members' sockets get `userTyping` (with `groupId`). */
  groupId?: string;
  /** True when typing starts, false when it stops. */
  isTyping: boolean;
}

/**
 * What `getChatHistory` takes: a 1:1 conversation (`userId1` and `userId2`, the caller one of
 * them) or a group (`groupId`, the caller a member), not both.
 */
export interface ChatHistoryPayload {
  /** One user of the conversation. */
  userId1?: string;
  /** The other user of the conversation. */
  userId2?: string;
  /** The group. */
  groupId?: string;
  /** Messages in the page, 1 to 200; 50 when left out. */
  limit?: number;
  /** How many of the newest messages to leave out, at most 10,000; 0 when left out. */
  skip?: number;
  /** A message id: only messages older than it (page back with the oldest one you have). */
  before?: string;
}

/** What `messageRead` takes. */
export interface MessageReadPayload {
  /** The message read; only its receiver may mark it. */
  messageId: string;
}

/** What `editMessage` takes. */
export interface EditMessagePayload {
  /** The message to change; only its sender may, within the edit window (`EDIT_WINDOW_MS`). */
  messageId: string;
  /** The new text: trimmed, 1 to 5000 characters. */
  text: string;
}

/** What `addReaction` and `removeReaction` take. */
export interface ReactionPayload {
  /** The message; either of its two users may react. */
  messageId: string;
  /** One emoji (skin tones, flags and ZWJ sequences included), at most 16 bytes of UTF-8. */
  emoji: string;
}

/** What `blockUser` and `unblockUser` take. */
export interface BlockUserPayload {
  /** The user to block or unblock; not the caller. */
  userId: string;
}

/** The ack of `blockUser` and `unblockUser`, and the body of the block routes. */
export interface BlockState {
  /** The other user. */
  userId: string;
  /** True while the caller blocks them. */
  blocked: boolean;
}

/** What `createGroup` takes. */
export interface CreateGroupPayload {
  /** 1 to 100 characters, trimmed. */
  name: string;
  /**
   * The members; the caller is added (first) when left out, repeats are dropped. With the caller
   * 2 to `MAX_GROUP_MEMBERS` (default 256) members.
   */
  memberIds: string[];
}

/** What `addGroupMembers` takes (the owner only). */
export interface AddGroupMembersPayload {
  /** The group. */
  groupId: string;
  /** Users to add, after the current members; members already in it are left out. */
  userIds: string[];
}

/** What `removeGroupMember` takes (the owner only). */
export interface RemoveGroupMemberPayload {
  /** The group. */
  groupId: string;
  /** The member to remove; not the caller (who uses `leaveGroup`). */
  userId: string;
}

/** What `leaveGroup` takes. */
export interface LeaveGroupPayload {
  /** The group the caller leaves. */
  groupId: string;
}

/** What `renameGroup` takes (any member). */
export interface RenameGroupPayload {
  /** The group. */
  groupId: string;
  /** The new name: 1 to 100 characters, trimmed. */
  name: string;
}

/** What `markGroupRead` takes. */
export interface MarkGroupReadPayload {
  /** The group. */
  groupId: string;
  /** The newest message read; the caller's read pointer moves to it, never back. */
  messageId: string;
}

/** The ack of the group events: the group as it is now. */
export interface GroupAnswer {
  /** The group after the change. */
  group: Group;
}

/** What changed in a group (`groupUpdated`). */
export interface GroupChange {
  /** Which change it was. */
  type: "created" | "membersAdded" | "memberRemoved" | "left" | "renamed";
  /** The members it concerns: all of them (created), those added, the one removed or who left. */
  userIds?: string[];
}

/** `groupUpdated`: a group of this user was created or changed; to every member, old and new. */
export interface GroupUpdatedPayload {
  /** The group after the change (a member who left or was removed is no longer in it). */
  group: Group;
  /** What changed. */
  change: GroupChange;
}

/** `groupRead`, and the ack of `markGroupRead`: a member's read pointer moved. */
export interface GroupReadPayload {
  /** The group. */
  groupId: string;
  /** The member who read. */
  userId: string;
  /** Their read pointer now: the newest message they read. */
  messageId: string;
  /** When the pointer moved there. */
  readAt: string;
}

/** A refusal: the body of a failed ack (`{ ok: false, … }`) and of `messageError`. */
export interface ErrorPayload {
  /** For people; may change. Programs read `code`. */
  error: string;
  /** Which refusal it is. */
  code: ErrorCode;
  /** With RATE_LIMITED: wait this long before retrying. */
  retryAfterMs?: number;
  /** The client event that failed, so that a client can tell failures apart. */
  event?: keyof ClientToServerEvents;
}

/**
 * `userOnline`: a user's first socket connected, or their last one left (after the grace period).
 */
export interface PresencePayload {
  /** The user whose presence changed. */
  userId: string;
  /** True when they came online, false when they went offline. */
  isOnline: boolean;
  /** When the change happened; null when not known. */
  lastSeen: string | null;
}

/** `userTyping`: a user typing to this one (or in a group of theirs) started or stopped. */
export interface UserTypingPayload {
  /** The user who is typing (or stopped). */
  userId: string;
  /** The group they type in; absent when they type to this user alone. */
  groupId?: string;
  /** True when typing started, false when it stopped. */
  isTyping: boolean;
}

/** `messageRead`, and the ack of `messageRead`: the receiver read a message. */
export interface ReadReceiptPayload {
  /** The message read. */
  messageId: string;
  /** Its receiver, who read it. */
  readerId: string;
  /** When it was first read. */
  readAt: string;
}

/** `messageDelivered`: a device of the receiver acknowledged `receiveMessage`. */
export interface DeliveryReceiptPayload {
  /** The message delivered. */
  messageId: string;
  /** Its receiver. */
  receiverId: string;
  /** When the first of the receiver's devices acknowledged it. */
  deliveredAt: string;
}

/**
 * `messageDeleted`: the sender deleted a message for everyone (`DELETE /api/chats/:messageId`),
 * or, to the caller's own sockets only, the caller deleted it for themselves (`?for=me`).
 */
export interface MessageDeletedPayload {
  /** The message deleted. */
  messageId: string;
}

/** `messageEdited`: the sender changed a message's text. */
export interface MessageEditedPayload {
  /** The message edited. */
  messageId: string;
  /** Its new text. */
  text: string;
  /** When it was edited. */
  editedAt: string;
}

/** `messageReaction`: a user added or took off an emoji on a message. */
export interface MessageReactionPayload {
  /** The message reacted to. */
  messageId: string;
  /** Who reacted. */
  userId: string;
  /** The emoji. */
  emoji: string;
  /** True when added, false when taken off. */
  added: boolean;
}

/** Every client event may take an ack; it always learns the fate of what it sent. */
export type AckResult<T> = ({ ok: true } & T) | ({ ok: false } & ErrorPayload);
/** The callback a client passes as an event's last argument; the server calls it once. */
export type Ack<T> = (result: AckResult<T>) => void;

/** The events a client emits. Each takes an optional ack, called once with an `AckResult`. */
export interface ClientToServerEvents {
  /**
   * Kept for clients of the brief: accepted (changing nothing) when it names the token's user, else
   * FORBIDDEN.
   */
  setUserId: (userId: string, ack?: Ack<{ userId: string }>) => void;
  /**
   * Stores a message, then sends `receiveMessage` to the receiver's sockets (to every other
   * member's, for a group) and `messageSent` to the sender's others; the ack carries the stored
   * message.
   */
  sendMessage: (
    payload: SendMessagePayload,
    ack?: Ack<{ message: ChatMessage; duplicate?: true }>,
  ) => void;
  /** Tells the receiver's sockets (`userTyping`); never stored. */
  typing: (payload: TypingPayload, ack?: Ack<Record<never, never>>) => void;
  /** A page of a conversation, oldest first: in the ack and as `chatHistory`. */
  getChatHistory: (payload: ChatHistoryPayload, ack?: Ack<{ messages: ChatMessage[] }>) => void;
  /**
   * The receiver marks a message read, once: `messageRead` to the sender's sockets and the reader's
   * others.
   */
  messageRead: (payload: MessageReadPayload, ack?: Ack<ReadReceiptPayload>) => void;
  /**
   * The sender changes a message's text: `messageEdited` to both users' sockets; the ack carries
   * the message as stored.
   */
  editMessage: (payload: EditMessagePayload, ack?: Ack<{ message: ChatMessage }>) => void;
  /**
   * Adds the caller's emoji to a message: `messageReaction` to both users' sockets (a repeat
   * changes and sends nothing); the ack carries the message as stored.
   */
  addReaction: (payload: ReactionPayload, ack?: Ack<{ message: ChatMessage }>) => void;
  /** Takes the caller's emoji off a message, as `addReaction` adds it. */
  removeReaction: (payload: ReactionPayload, ack?: Ack<{ message: ChatMessage }>) => void;
  /**
   * Blocks a user: no messages or typing either way, no presence between the two, until
   * `unblockUser`.
   */
  blockUser: (payload: BlockUserPayload, ack?: Ack<BlockState>) => void;
  /** Lifts the caller's block of a user. */
  unblockUser: (payload: BlockUserPayload, ack?: Ack<BlockState>) => void;
  /** Creates a group, the caller its owner: `groupUpdated` (created) to every member. */
  createGroup: (payload: CreateGroupPayload, ack?: Ack<GroupAnswer>) => void;
  /** The owner adds members: `groupUpdated` (membersAdded) to every member, old and new. */
  addGroupMembers: (payload: AddGroupMembersPayload, ack?: Ack<GroupAnswer>) => void;
  /** The owner removes a member: `groupUpdated` (memberRemoved) to the members and to them. */
  removeGroupMember: (payload: RemoveGroupMemberPayload, ack?: Ack<GroupAnswer>) => void;
  /**
   * The caller leaves (an owner hands ownership to the earliest joined): `groupUpdated` (left) to
   * the members and the caller.
   */
  leaveGroup: (payload: LeaveGroupPayload, ack?: Ack<GroupAnswer>) => void;
  /** Any member renames the group: `groupUpdated` (renamed) to every member. */
  renameGroup: (payload: RenameGroupPayload, ack?: Ack<GroupAnswer>) => void;
  /** Moves the caller's read pointer forward: `groupRead` to the members' sockets. */
  markGroupRead: (payload: MarkGroupReadPayload, ack?: Ack<GroupReadPayload>) => void;
}

/** The events the server sends a client. */
export interface ServerToClientEvents {
  /**
   * A message for this user. Call `ack()` once it is stored or shown: the
   * sender then gets `messageDelivered`, and the message is not sent again.
   */
  receiveMessage: (message: ChatMessage, ack: () => void) => void;
  /**
   * A message this user sent from another socket (or from this one, when it sent without an ack).
   */
  messageSent: (message: ChatMessage) => void;
  /** A client event failed; its ack, when it had one, says the same. */
  messageError: (error: ErrorPayload) => void;
  /** A user came online or went offline. */
  userOnline: (presence: PresencePayload) => void;
  /** A user typing to this one started or stopped. */
  userTyping: (typing: UserTypingPayload) => void;
  /** The page a `getChatHistory` asked for, oldest first. */
  chatHistory: (messages: ChatMessage[]) => void;
  /** A 1:1 message between this user and another was read by its receiver. */
  messageRead: (receipt: ReadReceiptPayload) => void;
  /** A message this user sent reached a device of its receiver (the first one only). */
  messageDelivered: (receipt: DeliveryReceiptPayload) => void;
  /**
   * A message of this user's (1:1 or in a group of theirs) was deleted: by its sender, or by this
   * user for them.
   */
  messageDeleted: (deleted: MessageDeletedPayload) => void;
  /** A message of this user's (1:1 or in a group of theirs) was edited by its sender. */
  messageEdited: (edited: MessageEditedPayload) => void;
  /** An emoji was added to or taken off a message of this user's (1:1 or in a group of theirs). */
  messageReaction: (reaction: MessageReactionPayload) => void;
  /** A group of this user was created or changed (members, name, owner). */
  groupUpdated: (update: GroupUpdatedPayload) => void;
  /** A member of a group of this user moved their read pointer. */
  groupRead: (read: GroupReadPayload) => void;
  /**
   * First on every connection: who the server takes this socket to be, from its token (whichever
   * claim the server reads the user id from), so a client need not decode the token.
   */
  session: (session: SessionPayload) => void;
}

/** `session`: the connected socket's user, as the server verified it. */
export interface SessionPayload {
  /** The user id every other event uses for this user. */
  userId: string;
  /** The display name the token carried, or null. */
  username: string | null;
}

/** Who a verified token says the caller is: its `sub`, and the names it carries. */
export interface Identity {
  /** The token's user id claim (`sub`, or the one `JWT_USER_CLAIM` names). */
  userId: string;
  /** From the token's `username`, `preferred_username` or `name` claim, when it has one. */
  username?: string;
  /** From the token's `email` claim, when it has one. */
  email?: string;
  /** Expiry in epoch seconds, when the token has one. */
  expiresAt?: number;
}

/** What the auth middleware leaves on `socket.data`: the socket's verified identity. */
export type SocketData = Identity;
