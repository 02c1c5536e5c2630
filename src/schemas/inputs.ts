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

const SendMessageFields = z.object({
  senderId: UserId.optional(),
  receiverId: UserId,
  text: z.string().trim().max(MAX_TEXT_LENGTH)
    .refine((text) => text.isWellFormed(), "must be valid Unicode").nullish(),
  file: FileAttachment.nullish(),
  clientMessageId: ClientMessageId.optional(),
});
const hasContent = (m: { text?: string | null; file?: unknown }) =>
  (m.text ?? "") !== "" || m.file != null;
const NO_CONTENT = { message: "text or file is required", path: ["text"] };

export const SendMessageInput = SendMessageFields.refine(hasContent, NO_CONTENT);
export type SendMessageInput = z.infer<typeof SendMessageInput>;

/** The service API's send (`POST /api/service/messages`): the host names the sender. */
export const ServiceSendInput = SendMessageFields.extend({ senderId: UserId }).refine(
  hasContent,
  NO_CONTENT,
);

export const TypingInput = z.object({ receiverId: UserId, isTyping: z.boolean() });
export type TypingInput = z.infer<typeof TypingInput>;

const Limit = z.number().int().min(1).max(MAX_PAGE_SIZE);
/** Deeper pages cost a walk over every skipped row: page further back with `before`. */
export const MAX_SKIP = 10_000;
const Skip = z.number().int().min(0).max(
  MAX_SKIP,
  `must be at most ${MAX_SKIP}; page further back with before`,
);

export const ChatHistoryInput = z.object({
  userId1: UserId,
  userId2: UserId,
  limit: Limit.default(DEFAULT_PAGE_SIZE),
  skip: Skip.default(0),
  before: MessageId.optional(),
});
export type ChatHistoryInput = z.infer<typeof ChatHistoryInput>;

export const MessageReadInput = z.object({ messageId: MessageId });

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
