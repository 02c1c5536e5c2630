/**
 * The rules of attachments, for both doors (REST uploads and downloads, and
 * the chat's send and delete): what may be stored, who may read it, which
 * message may carry it, and when it goes away.
 */
import { ulid } from "ulid";
import { AppError } from "../errors.ts";
import { errorFields, type Logger } from "../log.ts";
import type { ChatMessage, FileAttachment } from "../protocol/types.ts";
import type { MessageHooks } from "../chat/message_hooks.ts";
import { type DetectedType, detectType, SNIFF_BYTES } from "./content_type.ts";
import type {
  ByteRange,
  UploadRecord,
  UploadReference,
  UploadStore,
} from "../store/upload_store.ts";
import type { GroupRepository } from "../store/group_store.ts";
import type { MessageRepository } from "../store/repository.ts";

export interface UploadOptions {
  maxBytes: number;
  /** Most bytes one user's stored uploads (sent or not) may take together. */
  quotaBytes: number;
  /** An upload never sent in a message is removed after this long. */
  retentionMs: number;
  /** Origin that upload URLs use (`PUBLIC_URL`); unset: the origin of each upload request. */
  publicUrl?: string;
}

/** What a download needs to know of a group message: its group, and who is a member. */
export interface GroupAccess {
  messages: Pick<MessageRepository, "get">;
  groups: Pick<GroupRepository, "isMember">;
}

/**
 * The `receiverId` of a reference from a group message, which has no receiver:
 * its members may download (never a user id: those are at least one character).
 */
export const GROUP_RECEIVER = "";

export interface IncomingUpload {
  body: ReadableStream<Uint8Array>;
  /** The client's file name; cleaned, and given the detected type's extension if it lacks one. */
  name?: string;
  /** The client's Content-Type: a hint only, the bytes decide. */
  declaredType?: string;
}

/** Upload URLs end with `/api/uploads/<ULID>`. */
export const UPLOADS_PATH = "/api/uploads/";
const UPLOAD_ID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
/** Unsent uploads removed per sweep query. */
const SWEEP_BATCH = 100;
/** Tries of recording that a stored message carries its upload, and the pause before the n-th. */
const ATTACH_ATTEMPTS = 3;
const ATTACH_RETRY_MS = 100;

export class UploadService implements MessageHooks {
  private sweepTimer: ReturnType<typeof setTimeout> | undefined;
  private sweeping: Promise<unknown> | undefined;
  private closed = false;

  constructor(
    private readonly store: UploadStore,
    private readonly options: UploadOptions,
    private readonly log: Logger,
    /** Lets the members of a group download what was sent there. */
    private readonly groupAccess?: GroupAccess,
  ) {}

  get maxBytes(): number {
    return this.options.maxBytes;
  }

  /**
   * Keeps a file of `ownerId`. Its type comes from its first bytes; a type
   * off the allowlist (UNSUPPORTED_TYPE), an empty file (VALIDATION_ERROR),
   * one over the limit (PAYLOAD_TOO_LARGE) or one that would take the owner's
   * uploads past their quota (QUOTA_EXCEEDED) keeps nothing.
   */
  async upload(ownerId: string, incoming: IncomingUpload): Promise<UploadRecord> {
    const reader = incoming.body.getReader();
    let stored = false;
    try {
      const head = await readHead(reader, SNIFF_BYTES);
      if (head.byteLength === 0) throw new AppError("VALIDATION_ERROR", "The file is empty");
      if (head.byteLength > this.options.maxBytes) throw tooLarge(this.options.maxBytes);
      const detected = await detectType(head, incoming.declaredType);
      if (!detected) {
        throw new AppError(
          "UNSUPPORTED_TYPE",
          "This type of file is not accepted (images, video, audio, PDF, Office and text files are)",
        );
      }
      const record = await this.store.create(
        {
          _id: ulid(),
          ownerId,
          name: fileName(incoming.name, detected),
          mime: detected.mime,
          kind: detected.kind,
        },
        prepend(head, reader),
        { maxBytes: this.options.maxBytes, quotaBytes: this.options.quotaBytes },
      );
      stored = true;
      this.log.info("upload stored", { uploadId: record._id, ownerId, size: record.size });
      return record;
    } finally {
      // Stop reading what the client still sends when the upload was refused.
      if (!stored) await reader.cancel().catch(() => {});
    }
  }

  /** The `file` object a message carries for this upload. */
  attachmentOf(record: UploadRecord, requestOrigin: string): FileAttachment {
    const origin = this.options.publicUrl ?? requestOrigin;
    return {
      url: `${origin}${UPLOADS_PATH}${record._id}`,
      type: record.kind,
      name: record.name,
      size: record.size,
    };
  }

  /**
   * The record, if `userId` uploaded it, received a message carrying it, or is
   * a member of a group a message carrying it went to (else FORBIDDEN).
   */
  async readable(userId: string, uploadId: string): Promise<UploadRecord> {
    const record = UPLOAD_ID.test(uploadId) ? await this.store.get(uploadId) : null;
    if (!record) throw new AppError("NOT_FOUND", "Upload not found");
    if (record.ownerId === userId) return record;
    const refs = await this.store.references(uploadId);
    if (refs.some((ref) => ref.receiverId === userId)) return record;
    for (const ref of refs) {
      if (ref.receiverId === GROUP_RECEIVER && await this.inGroupOf(ref.messageId, userId)) {
        return record;
      }
    }
    throw new AppError("FORBIDDEN", "Only the uploader and receivers of this file may download it");
  }

  /** Whether the user is now a member of the group the message went to (left: no access). */
  private async inGroupOf(messageId: string, userId: string): Promise<boolean> {
    if (!this.groupAccess) return false;
    const message = await this.groupAccess.messages.get(messageId);
    return !!message?.groupId && await this.groupAccess.groups.isMember(message.groupId, userId);
  }

  /** The bytes of a record returned by `readable()`. */
  async open(record: UploadRecord, range?: ByteRange): Promise<ReadableStream<Uint8Array>> {
    const body = await this.store.read(record._id, range);
    if (!body) throw new AppError("NOT_FOUND", "Upload not found");
    return body;
  }

  // ------------------------------------------------------------ message hooks

  /**
   * A file URL of this server must be one of the sender's own uploads; its
   * type and size are then the stored ones. Other http(s) URLs pass unchanged.
   */
  async checkFile(senderId: string, file: FileAttachment): Promise<FileAttachment> {
    const uploadId = this.localUploadId(file.url);
    if (uploadId === null) return file;
    const record = uploadId ? await this.store.get(uploadId) : null;
    if (!record) {
      throw new AppError(
        "NOT_FOUND",
        "file.url: no such upload (never stored, expired or deleted)",
      );
    }
    if (record.ownerId !== senderId) {
      throw new AppError("FORBIDDEN", "file.url: you can only send files you uploaded");
    }
    return { ...file, type: record.kind, size: record.size };
  }

  /**
   * Runs before the message is delivered, so that its receiver can download at
   * once; also for a duplicate send, which heals a crash between the message
   * write and this one. A store failure fails the send: a resend heals it.
   */
  async stored(message: ChatMessage): Promise<void> {
    const uploadId = message.file ? this.localUploadId(message.file.url) : null;
    if (!uploadId) return;
    const reference = referenceOf(message);
    // The message is stored already: the send should not be answered with an
    // error for a hiccup of the store. `attach` is idempotent, so it is simply
    // tried again before the send is answered.
    let attached: boolean | undefined;
    for (let attempt = 1; attached === undefined; attempt++) {
      try {
        attached = await this.store.attach(uploadId, reference);
      } catch (err) {
        if (attempt >= ATTACH_ATTEMPTS) throw err;
        this.log.warn("attaching an upload failed; trying again", { uploadId, attempt });
        await new Promise((resolve) => setTimeout(resolve, ATTACH_RETRY_MS * attempt));
      }
    }
    if (!attached) {
      this.log.warn("sent upload was removed meanwhile", { uploadId, messageId: message._id });
    }
  }

  /** Removes the upload once no message carries it. Never fails the delete. */
  async deleted(message: ChatMessage): Promise<void> {
    const uploadId = message.file ? this.localUploadId(message.file.url) : null;
    if (!uploadId) return;
    try {
      const remaining = await this.store.detach(uploadId, referenceOf(message));
      if (remaining === 0 && await this.store.deleteIfUnreferenced(uploadId)) {
        this.log.info("upload removed with its last message", { uploadId });
      }
    } catch (err) {
      this.log.error("upload clean-up failed", { uploadId, ...errorFields(err) });
    }
  }

  // ------------------------------------------------------------ retention

  /** Starts removing unsent uploads older than the retention period, now and periodically. */
  startSweeper(): void {
    const every = Math.min(Math.max(this.options.retentionMs / 4, 50), 600_000);
    const tick = () => {
      this.sweeping = this.sweep().finally(() => {
        if (!this.closed) this.sweepTimer = setTimeout(tick, every);
      });
    };
    tick();
  }

  /** One pass of the retention sweep; resolves with how many uploads it removed. */
  async sweep(now = Date.now()): Promise<number> {
    const before = new Date(now - this.options.retentionMs);
    let removed = 0;
    try {
      while (!this.closed) {
        const ids = await this.store.unsentBefore(before, SWEEP_BATCH);
        for (const id of ids) if (await this.store.deleteIfUnreferenced(id)) removed++;
        if (ids.length < SWEEP_BATCH) break;
      }
      if (removed > 0) this.log.info("unsent uploads removed", { count: removed });
    } catch (err) {
      this.log.error("upload retention sweep failed", errorFields(err));
    }
    return removed;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.sweepTimer);
    await this.sweeping;
  }

  /**
   * `null`: not a URL of this server. `""`: this server's uploads path with
   * an id that cannot exist. Without `PUBLIC_URL` any host counts as this
   * server (its own names are unknown to it), which only ever refuses more.
   */
  private localUploadId(url: string): string | null {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      return null;
    }
    if (this.options.publicUrl && parsed.origin !== this.options.publicUrl) return null;
    if (!parsed.pathname.startsWith(UPLOADS_PATH)) return null;
    const id = parsed.pathname.slice(UPLOADS_PATH.length);
    return UPLOAD_ID.test(id) ? id : "";
  }
}

function tooLarge(maxBytes: number): AppError {
  return new AppError("PAYLOAD_TOO_LARGE", `File larger than ${maxBytes} bytes`);
}

/** Reads at least `bytes` (or everything, if less) from the stream. */
async function readHead(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  bytes: number,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  while (length < bytes) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    length += value.byteLength;
  }
  const head = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    head.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return head;
}

/** The head already read, then the rest of the stream. */
function prepend(
  head: Uint8Array,
  reader: ReadableStreamDefaultReader<Uint8Array>,
): ReadableStream<Uint8Array> {
  let first = true;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (first) {
        first = false;
        controller.enqueue(head);
        return;
      }
      const { done, value } = await reader.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

/** Extensions a name may keep for each detected type (else the detected one is appended). */
const EXTENSIONS: Record<string, readonly string[]> = {
  jpg: ["jpg", "jpeg", "jpe"],
  heic: ["heic", "heif"],
  mp4: ["mp4", "m4v", "m4a", "m4b"],
  m4a: ["m4a", "mp4", "m4b"],
  mov: ["mov", "qt"],
  ogg: ["ogg", "oga", "ogv", "opus"],
  opus: ["opus", "ogg"],
  txt: ["txt", "text", "csv", "tsv", "md", "log"],
};

/**
 * A name safe to show and to save: no path, no control characters, at most
 * 255 characters, ending with an extension that fits the detected type (so a
 * text file named `page.html` is saved as `page.html.txt`, never opened as a page).
 */
export function fileName(given: string | undefined, detected: DetectedType): string {
  let name = (given ?? "").split(/[/\\]/).at(-1) ?? "";
  // deno-lint-ignore no-control-regex
  name = name.replace(/[\u0000-\u001F\u007F]/g, "").trim();
  if (name === "" || name === "." || name === "..") name = "file";
  const ext = name.includes(".") ? name.slice(name.lastIndexOf(".") + 1).toLowerCase() : "";
  const allowed = EXTENSIONS[detected.ext] ?? [detected.ext];
  const suffix = allowed.includes(ext) ? "" : `.${detected.ext}`;
  return name.slice(0, 255 - suffix.length) + suffix;
}

/** The reference a message makes to its upload; a group message's names no receiver. */
function referenceOf(message: ChatMessage): UploadReference {
  return { messageId: message._id, receiverId: message.receiverId ?? GROUP_RECEIVER };
}
