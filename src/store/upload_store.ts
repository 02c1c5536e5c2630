/**
 * The storage contract of uploads: the bytes and a record of who owns them and
 * which messages carry them. Each store backend implements it: a local
 * directory plus SQLite rows (src/store/sqlite/sqlite_upload_store.ts), or
 * MongoDB GridFS (src/store/mongo/gridfs_upload_store.ts).
 */
import { AppError } from "../errors.ts";
import type { FileAttachment } from "../protocol/types.ts";
import type { ForwardPage } from "./repository.ts";

export interface UploadRecord {
  /** A ULID: time-ordered, 80 random bits, also the last segment of the URL. */
  _id: string;
  ownerId: string;
  name: string;
  /** Detected from the bytes; served as `Content-Type`. */
  mime: string;
  kind: FileAttachment["type"];
  size: number;
  createdAt: string;
  /** Set once a message carries it; unsent uploads are removed after the retention period. */
  sent: boolean;
}

export type NewUpload = Omit<UploadRecord, "size" | "createdAt" | "sent">;

/** A message that carries an upload: its receiver may download it. */
export interface UploadReference {
  messageId: string;
  receiverId: string;
}

/** Inclusive byte positions, as in `Content-Range`. */
export interface ByteRange {
  start: number;
  end: number;
}

/** What one upload may take. */
export interface UploadLimits {
  /** Largest file (`UPLOAD_MAX_BYTES`). */
  maxBytes: number;
  /** Most bytes the owner's stored uploads may take together (`UPLOAD_QUOTA_BYTES`). */
  quotaBytes: number;
}

export interface UploadStore {
  /**
   * Stores `body` and then the record; resolves once both are durable. More
   * than `maxBytes` rejects with PAYLOAD_TOO_LARGE, more than what is left of
   * the owner's `quotaBytes` with QUOTA_EXCEEDED, and either keeps nothing, as
   * does any other failure. The quota is checked again in the step that makes
   * the upload visible, one owner's uploads at a time (across processes too),
   * so concurrent uploads never exceed it together.
   */
  create(
    upload: NewUpload,
    body: ReadableStream<Uint8Array>,
    limits: UploadLimits,
  ): Promise<UploadRecord>;
  /** Bytes of the owner's stored uploads, sent or not: what counts against the quota. */
  usage(ownerId: string): Promise<number>;
  get(id: string): Promise<UploadRecord | null>;
  /** The messages that carry the upload. */
  references(id: string): Promise<UploadReference[]>;
  /** The bytes (a range of them); null when they are gone. */
  read(id: string, range?: ByteRange): Promise<ReadableStream<Uint8Array> | null>;
  /** Records that a message carries the upload and marks it sent; false when it is gone. */
  attach(id: string, reference: UploadReference): Promise<boolean>;
  /** Forgets a message; resolves with how many messages still carry the upload. */
  detach(id: string, reference: UploadReference): Promise<number>;
  /** Removes the upload if no message carries it (any more); true when removed. */
  deleteIfUnreferenced(id: string): Promise<boolean>;
  /** Ids of uploads never sent and created before `before`, oldest first. */
  unsentBefore(before: Date, limit: number): Promise<string[]>;
  /** The owner's upload records, sent or not, oldest first by id (the data-subject export). */
  listForOwner(ownerId: string, query: ForwardPage): Promise<UploadRecord[]>;
}

/**
 * Passes bytes through, failing with PAYLOAD_TOO_LARGE past `limits.maxBytes`,
 * or with QUOTA_EXCEEDED past `room` (what was left of the quota when the
 * upload began: a stream that cannot fit stops early; the store still checks
 * the final size when it commits). `size()` counts them.
 */
export function byteLimit(
  limits: UploadLimits,
  room: number,
): TransformStream<Uint8Array, Uint8Array> & { size(): number } {
  let size = 0;
  const stream = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      size += chunk.byteLength;
      if (size > limits.maxBytes) {
        controller.error(tooLarge(limits.maxBytes));
        return;
      }
      if (size > room) {
        controller.error(quotaExceeded(limits.quotaBytes));
        return;
      }
      controller.enqueue(chunk);
    },
  });
  return Object.assign(stream, { size: () => size });
}

export function tooLarge(maxBytes: number): AppError {
  return new AppError("PAYLOAD_TOO_LARGE", `File larger than ${maxBytes} bytes`);
}

export function quotaExceeded(quotaBytes: number): AppError {
  return new AppError(
    "QUOTA_EXCEEDED",
    `This file would take your uploads past their quota of ${quotaBytes} bytes; ` +
      "deleting messages that carry your files frees their space",
  );
}
