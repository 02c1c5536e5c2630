/**
 * The storage contract of uploads: the bytes and a record of who owns them and
 * which messages carry them. Two backends, chosen with the chat store: a local
 * directory plus Deno KV keys (kv_upload_store.ts), or MongoDB GridFS
 * (gridfs_upload_store.ts).
 */
import { AppError } from "../errors.ts";
import type { FileKind } from "./content_type.ts";

export interface UploadRecord {
  /** A ULID: time-ordered, 80 random bits, also the last segment of the URL. */
  _id: string;
  ownerId: string;
  name: string;
  /** Detected from the bytes; served as `Content-Type`. */
  mime: string;
  kind: FileKind;
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

export interface UploadStore {
  /**
   * Stores `body` and then the record; resolves once both are durable. More
   * than `maxBytes` rejects with PAYLOAD_TOO_LARGE and keeps nothing, and so
   * does any other failure.
   */
  create(
    upload: NewUpload,
    body: ReadableStream<Uint8Array>,
    maxBytes: number,
  ): Promise<UploadRecord>;
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
}

/** Passes bytes through, failing with PAYLOAD_TOO_LARGE past `maxBytes`; `size()` counts them. */
export function byteLimit(maxBytes: number): TransformStream<Uint8Array, Uint8Array> & {
  size(): number;
} {
  let size = 0;
  const stream = new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      size += chunk.byteLength;
      if (size > maxBytes) {
        controller.error(tooLarge(maxBytes));
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
