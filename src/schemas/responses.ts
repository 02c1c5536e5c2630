/**
 * Zod schemas of what the REST API answers. They are never used to check
 * responses at run time: the OpenAPI document is generated from them, and
 * tests/openapi_test.ts checks at compile time that each matches the type the
 * server really sends (src/protocol/types.ts), so neither can drift alone.
 */
import { z } from "zod";
import { ERROR_CODES, type ErrorCode } from "../errors.ts";
import { FileAttachment } from "./inputs.ts";

/** Times are `Date.prototype.toISOString()` output: ISO-8601, UTC. */
const Timestamp = z.iso.datetime();

export const ChatMessage = z.object({
  _id: z.string().meta({
    description: "A ULID (SQLite) or an ObjectId (MongoDB); both sort by arrival.",
  }),
  senderId: z.string(),
  receiverId: z.string().nullable().meta({ description: "Null on a group message." }),
  groupId: z.string().nullable().optional().meta({
    description: "The group of a group message; null on a 1:1 message.",
  }),
  text: z.string().nullable(),
  file: FileAttachment.nullable(),
  clientMessageId: z.string().nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
  deliveredAt: Timestamp.nullable().meta({
    description: "First acknowledgement of `receiveMessage` by any of the receiver's devices.",
  }),
  readAt: Timestamp.nullable(),
  editedAt: Timestamp.nullable().meta({ description: "When the sender last edited the text." }),
  reactions: z.array(z.object({ emoji: z.string(), userIds: z.array(z.string()) })),
  replyTo: z.union([
    z.object({
      _id: z.string(),
      senderId: z.string(),
      text: z.string().nullable().meta({ description: "Its first 200 characters." }),
      file: FileAttachment.pick({ name: true, type: true }).nullable(),
    }),
    z.object({ _id: z.string(), deleted: z.literal(true) }),
  ]).nullable().meta({ description: "The quoted message as it was when this reply was sent." }),
}).meta({ id: "ChatMessage", description: "A stored message." });
export type ChatMessage = z.infer<typeof ChatMessage>;

export const UserSummary = z.object({
  _id: z.string(),
  username: z.string().nullable(),
  isOnline: z.boolean(),
  lastSeen: Timestamp.nullable(),
}).meta({ id: "UserSummary" });
export type UserSummary = z.infer<typeof UserSummary>;

export const ConversationRow = z.object({
  user: UserSummary,
  lastMessage: ChatMessage.nullable(),
  unreadCount: z.number().int().min(0),
  muted: z.boolean().meta({ description: "The caller muted this conversation's notifications." }),
  mutedUntil: Timestamp.nullable().meta({
    description: "When the caller's mute ends; null when open-ended or not muted.",
  }),
}).meta({ id: "ConversationRow", description: "One row per conversation partner." });
export type ConversationRow = z.infer<typeof ConversationRow>;

export const Group = z.object({
  _id: z.string(),
  name: z.string(),
  ownerId: z.string(),
  memberIds: z.array(z.string()).meta({ description: "Every member, in the order they joined." }),
  createdAt: Timestamp,
  updatedAt: Timestamp,
}).meta({ id: "Group", description: "A group conversation." });
export type Group = z.infer<typeof Group>;

export const GroupConversationRow = z.object({
  group: Group,
  lastMessage: ChatMessage.nullable(),
  unreadCount: z.number().int().min(0).meta({
    description: "Messages after the caller's read pointer, not sent by the caller.",
  }),
  muted: z.boolean().meta({ description: "The caller muted this group's notifications." }),
  mutedUntil: Timestamp.nullable(),
}).meta({ id: "GroupConversationRow", description: "One row per group of the caller." });
export type GroupConversationRow = z.infer<typeof GroupConversationRow>;

export const GroupReads = z.object({
  reads: z.array(z.object({
    userId: z.string(),
    readAt: Timestamp.meta({ description: "When the member's read pointer last moved." }),
  })).meta({ description: "Members whose read pointer is at or past the message, in join order." }),
}).meta({ id: "GroupReads" });

export const GroupMuteState = z.object({
  groupId: z.string(),
  muted: z.boolean(),
  mutedUntil: Timestamp.nullable().meta({
    description: "When the mute ends; null when open-ended or not muted.",
  }),
}).meta({ id: "GroupMuteState" });
export type GroupMuteState = z.infer<typeof GroupMuteState>;

export const DeletedMessage = z.object({ deleted: z.literal(true), messageId: z.string() })
  .meta({ id: "DeletedMessage" });

export const Report = z.object({
  _id: z.string(),
  messageId: z.string(),
  reporterId: z.string(),
  reportedUserId: z.string().meta({ description: "The sender of the reported message." }),
  reason: z.enum(["spam", "abuse", "harassment", "other"]),
  note: z.string().nullable(),
  text: z.string().nullable().meta({
    description: "The message's text when it was reported (kept through later edits and deletes).",
  }),
  file: FileAttachment.nullable(),
  createdAt: Timestamp,
}).meta({ id: "Report", description: "A report of a message to the host app's moderators." });
export type Report = z.infer<typeof Report>;

export const BlockState = z.object({
  userId: z.string(),
  blocked: z.boolean().meta({ description: "True while the caller blocks this user." }),
}).meta({ id: "BlockState" });
export type BlockState = z.infer<typeof BlockState>;

export const BlockEntry = z.object({ userId: z.string(), blockedAt: Timestamp })
  .meta({ id: "BlockEntry" });
export type BlockEntry = z.infer<typeof BlockEntry>;

export const MuteState = z.object({
  userId: z.string().meta({ description: "The conversation partner." }),
  muted: z.boolean(),
  mutedUntil: Timestamp.nullable().meta({
    description: "When the mute ends; null when open-ended or not muted.",
  }),
}).meta({ id: "MuteState" });
export type MuteState = z.infer<typeof MuteState>;

export const Health = z.object({ status: z.literal("ok") }).meta({ id: "Health" });
export const Ready = z.object({ status: z.literal("ready") }).meta({ id: "Ready" });
/** `/readyz` when the store does not answer (not the `{error, code}` shape: probes read `status`). */
export const NotReady = z.object({
  status: z.literal("unavailable"),
  code: z.literal("STORE_UNAVAILABLE"),
}).meta({ id: "NotReady" });

export const DevToken = z.object({ token: z.string().meta({ description: "A JWT." }) })
  .meta({ id: "DevToken" });

const codes = Object.keys(ERROR_CODES) as [ErrorCode, ...ErrorCode[]];

/** Every error a client sees: `{error, code}`, plus `retryAfterMs` with RATE_LIMITED. */
export const ErrorBody = z.object({
  error: z.string().meta({ description: "For people; may change. Programs read `code`." }),
  code: z.enum(codes),
  retryAfterMs: z.number().int().positive().optional(),
});
export type ErrorBody = z.infer<typeof ErrorBody>;

const errorsByCode = new Map<ErrorCode, z.ZodType>();

/**
 * The error body of one code, e.g. `errorWithCode("NOT_FOUND")`: a component of
 * the document named after the code (`NotFoundError`). RATE_LIMITED carries
 * `retryAfterMs`.
 */
export function errorWithCode(code: ErrorCode): z.ZodType<ErrorBody> {
  let schema = errorsByCode.get(code);
  if (!schema) {
    // VALIDATION_ERROR → ValidationError, NOT_FOUND → NotFoundError
    const name = code.replace(/_ERROR$/, "").toLowerCase()
      .replace(/(^|_)([a-z])/g, (_match, _sep, letter: string) => letter.toUpperCase());
    const body = z.object({ error: z.string(), code: z.literal(code) });
    schema =
      (code === "RATE_LIMITED" ? body.extend({ retryAfterMs: z.number().int().positive() }) : body)
        .meta({ id: `${name}Error` });
    errorsByCode.set(code, schema);
  }
  return schema as z.ZodType<ErrorBody>;
}
