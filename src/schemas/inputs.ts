/**
 * Zod schemas for every input that crosses the edge (socket payloads, REST
 * params and queries). Types are inferred beside each schema.
 */
import { z } from "zod";

/** C0 controls and DEL: never part of an identifier. */
function hasControlCharacters(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code < 0x20 || code === 0x7f) return true;
  }
  return false;
}

/**
 * A user id is the token's `sub` (auth/tokens.ts holds it to this rule too):
 * up to 128 characters of well-formed Unicode, no control characters, no
 * blanks at either end. Nothing is trimmed: " alice" is not alice.
 */
export const UserId = z.string().min(1, "must not be empty").max(128)
  .refine((id) => id.trim() === id, "must not start or end with blanks")
  .refine((id) => id.isWellFormed(), "must be valid Unicode")
  .refine((id) => !hasControlCharacters(id), "must not contain control characters");
export type UserId = z.infer<typeof UserId>;

/** Message ids are opaque strings (a ULID in SQLite, an ObjectId in MongoDB). */
export const MessageId = z.string().min(1).max(64).regex(/^[0-9A-Za-z]+$/, "not a message id");

export const ClientMessageId = z.string().min(1).max(64)
  .refine((id) => id.trim() !== "", "must not be blank")
  .refine((id) => id.isWellFormed(), "must be valid Unicode")
  .refine((id) => !hasControlCharacters(id), "must not contain control characters");

export const MAX_TEXT_LENGTH = 5000;
export const MAX_PAGE_SIZE = 200;
export const DEFAULT_PAGE_SIZE = 50;

export const FileAttachment = z.object({
  url: z.url({ protocol: /^https?$/, error: "must be an http(s) URL" }).max(2048),
  type: z.enum(["image", "video", "audio", "document"]),
  name: z.string().trim().min(1).max(255).refine((n) => n.isWellFormed(), "must be valid Unicode"),
  size: z.number().int().positive().max(Number.MAX_SAFE_INTEGER),
});
export type FileAttachment = z.infer<typeof FileAttachment>;

/** A message's text: trimmed, at most 5000 characters of well-formed Unicode. */
const MessageText = z.string().trim().max(MAX_TEXT_LENGTH)
  .refine((text) => text.isWellFormed(), "must be valid Unicode");

const SendMessageFields = z.object({
  senderId: UserId.optional(),
  receiverId: UserId,
  text: MessageText.nullish(),
  file: FileAttachment.nullish(),
  clientMessageId: ClientMessageId.optional(),
  replyTo: MessageId.optional(),
});
const hasContent = (m: { text?: string | null; file?: unknown }) =>
  (m.text ?? "") !== "" || m.file != null;
const NO_CONTENT = { message: "text or file is required", path: ["text"] };

/** Group ids are opaque strings, as message ids are. */
export const GroupId = z.string().min(1).max(64).regex(/^[0-9A-Za-z]+$/, "not a group id");

/** A 1:1 or a group event names exactly one of the two. */
const oneTarget = (m: { receiverId?: string; groupId?: string }) =>
  (m.receiverId === undefined) !== (m.groupId === undefined);
const ONE_TARGET = {
  message: "exactly one of receiverId and groupId is required",
  path: ["groupId"],
};

export const SendMessageInput = SendMessageFields
  .extend({ receiverId: UserId.optional(), groupId: GroupId.optional() })
  .refine(hasContent, NO_CONTENT)
  .refine(oneTarget, ONE_TARGET);
export type SendMessageInput = z.infer<typeof SendMessageInput>;

/** The service API's send (`POST /api/service/messages`): the host names the sender. */
export const ServiceSendInput = SendMessageFields.extend({ senderId: UserId }).refine(
  hasContent,
  NO_CONTENT,
);

export const TypingInput = z.object({
  receiverId: UserId.optional(),
  groupId: GroupId.optional(),
  isTyping: z.boolean(),
}).refine(oneTarget, ONE_TARGET);
export type TypingInput = z.infer<typeof TypingInput>;

const Limit = z.number().int().min(1).max(MAX_PAGE_SIZE);
/** Deeper pages cost a walk over every skipped row: page further back with `before`. */
export const MAX_SKIP = 10_000;
const Skip = z.number().int().min(0).max(
  MAX_SKIP,
  `must be at most ${MAX_SKIP}; page further back with before`,
);

export const ChatHistoryInput = z.object({
  userId1: UserId.optional(),
  userId2: UserId.optional(),
  groupId: GroupId.optional(),
  limit: Limit.default(DEFAULT_PAGE_SIZE),
  skip: Skip.default(0),
  before: MessageId.optional(),
}).refine(
  (h) =>
    h.groupId === undefined
      ? h.userId1 !== undefined && h.userId2 !== undefined
      : h.userId1 === undefined && h.userId2 === undefined,
  { message: "either userId1 and userId2, or groupId, is required", path: ["groupId"] },
);
export type ChatHistoryInput = z.infer<typeof ChatHistoryInput>;

export const MessageReadInput = z.object({ messageId: MessageId });

/** An edit's new text: as a message's, and never empty (a file-only message gains text). */
export const EditText = MessageText.min(1, "must not be empty");

export const EditMessageInput = z.object({ messageId: MessageId, text: EditText });
export type EditMessageInput = z.infer<typeof EditMessageInput>;

/** Most bytes of UTF-8 one reaction's emoji may take. */
export const MAX_EMOJI_BYTES = 16;

const graphemes = new Intl.Segmenter("en", { granularity: "grapheme" });
/** Unicode's recommended emoji: fully-qualified, with skin tones, flags and ZWJ sequences. */
const RGI_EMOJI = /^\p{RGI_Emoji}$/v;

/** One emoji grapheme: a single user-perceived character that Unicode lists as an emoji. */
function isOneEmoji(text: string): boolean {
  let count = 0;
  for (const _ of graphemes.segment(text)) if (++count > 1) return false;
  return count === 1 && RGI_EMOJI.test(text);
}

export const Emoji = z.string()
  .refine(
    (text) => new TextEncoder().encode(text).length <= MAX_EMOJI_BYTES,
    `must be at most ${MAX_EMOJI_BYTES} bytes of UTF-8`,
  )
  .refine(isOneEmoji, "must be one emoji");

export const ReactionInput = z.object({ messageId: MessageId, emoji: Emoji });
export type ReactionInput = z.infer<typeof ReactionInput>;

export const BlockUserInput = z.object({ userId: UserId });

/** `MAX_GROUP_MEMBERS` is checked by the service; this bounds what a payload may carry at all. */
export const MAX_GROUP_MEMBERS_LIMIT = 10_000;
export const MAX_GROUP_NAME_LENGTH = 100;

export const GroupName = z.string().trim().min(1, "must not be empty").max(MAX_GROUP_NAME_LENGTH)
  .refine((name) => name.isWellFormed(), "must be valid Unicode");

const UserIds = z.array(UserId).max(MAX_GROUP_MEMBERS_LIMIT);

export const CreateGroupInput = z.object({ name: GroupName, memberIds: UserIds });
export type CreateGroupInput = z.infer<typeof CreateGroupInput>;

export const AddGroupMembersInput = z.object({
  groupId: GroupId,
  userIds: UserIds.min(1, "must name at least one user"),
});
export type AddGroupMembersInput = z.infer<typeof AddGroupMembersInput>;

export const RemoveGroupMemberInput = z.object({ groupId: GroupId, userId: UserId });
export const LeaveGroupInput = z.object({ groupId: GroupId });
export const RenameGroupInput = z.object({ groupId: GroupId, name: GroupName });
export const MarkGroupReadInput = z.object({ groupId: GroupId, messageId: MessageId });

/**
 * An integer in a query string: decimal digits, then checked by `schema`. Any
 * other text ("", "1e3", "0x10") is NaN, refused. (Not `z.coerce`, which takes
 * all of those and `null`; the OpenAPI document, generated from these schemas,
 * would then call the parameter nullable.)
 */
function queryInteger<S extends z.ZodNumber>(schema: S) {
  return z.preprocess(
    (value) => (typeof value === "string" ? (/^-?\d+$/.test(value) ? Number(value) : NaN) : value),
    schema,
  );
}

/** Query strings arrive as text; convert, then apply the same bounds as sockets. */
export const PageQuery = z.object({
  limit: queryInteger(Limit).default(DEFAULT_PAGE_SIZE),
  skip: queryInteger(Skip).default(0),
});

export const HistoryQuery = PageQuery.extend({ before: MessageId.optional() });

export const MAX_SEARCH_QUERY_LENGTH = 200;
export const DEFAULT_SEARCH_LIMIT = 20;
export const MAX_SEARCH_LIMIT = 100;

/** `GET /api/chats/search`: every word of `q`, optionally in one conversation (`with`). */
export const SearchQuery = z.object({
  q: z.string().trim().min(1, "must not be empty").max(MAX_SEARCH_QUERY_LENGTH)
    .refine((q) => q.isWellFormed(), "must be valid Unicode"),
  with: UserId.optional(),
  limit: queryInteger(z.number().int().min(1).max(MAX_SEARCH_LIMIT)).default(DEFAULT_SEARCH_LIMIT),
  before: MessageId.optional(),
});
export type SearchQuery = z.infer<typeof SearchQuery>;

/** `DELETE /api/chats/:messageId?for=me` hides it for the caller; `everyone` (the default) deletes it. */
export const DeleteQuery = z.object({ for: z.enum(["everyone", "me"]).default("everyone") });

export const MAX_REPORT_NOTE_LENGTH = 1000;

export const ReportInput = z.object({
  reason: z.enum(["spam", "abuse", "harassment", "other"]),
  note: z.string().trim().max(MAX_REPORT_NOTE_LENGTH)
    .refine((note) => note.isWellFormed(), "must be valid Unicode").optional(),
});
export type ReportInput = z.infer<typeof ReportInput>;

/** `PUT /api/chats/conversations/:userId/mute`; no `until`: muted until unmuted. */
export const MuteInput = z.object({
  until: z.iso.datetime({ offset: true }).optional(),
});
export type MuteInput = z.infer<typeof MuteInput>;

export const DevTokenInput = z.object({
  userId: UserId,
  username: z.string().trim().min(1).max(64).optional(),
});

/** Formats the first zod issue as "field: problem" for a client-facing error. */
export function describeIssue(error: z.ZodError): string {
  const issue = error.issues[0];
  if (!issue) return "invalid input";
  const path = issue.path.map(String).join(".");
  return path ? `${path}: ${issue.message}` : issue.message;
}
