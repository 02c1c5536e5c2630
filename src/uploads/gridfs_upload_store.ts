/**
 * Uploads with MongoDB: bytes in GridFS (bucket `uploads`), the record in the
 * GridFS file document's `metadata`, which GridFS writes only once every chunk
 * is stored: an upload is visible whole or not at all.
 *
 *   uploads.files  { _id: id, length, uploadDate, filename,
 *                    metadata: { ownerId, name, mime, kind, createdAt, sent,
 *                                refs: [{ messageId, receiverId }] } }
 *   uploads.chunks { files_id, n, data }   (GridFS)
 * Index `{ "metadata.sent": 1, uploadDate: 1 }` serves the retention sweep.
 */
import { once } from "node:events";
import { type Collection, type Db, GridFSBucket } from "mongodb";
import { storeCall } from "../store/mongo/store_errors.ts";
import {
  byteLimit,
  type ByteRange,
  type NewUpload,
  type UploadRecord,
  type UploadReference,
  type UploadStore,
} from "./upload_store.ts";

const BUCKET = "uploads";

interface UploadMetadata extends Omit<UploadRecord, "_id" | "size"> {
  refs: UploadReference[];
}

interface UploadFileDoc {
  _id: string;
  length: number;
  chunkSize: number;
  uploadDate: Date;
  filename: string;
  metadata: UploadMetadata;
}

export class GridFsUploadStore implements UploadStore {
  private readonly bucket: GridFSBucket;
  private readonly files: Collection<UploadFileDoc>;
  private readonly chunks: Collection<{ files_id: string }>;

  private constructor(db: Db) {
    this.bucket = new GridFSBucket(db, { bucketName: BUCKET });
    this.files = db.collection<UploadFileDoc>(`${BUCKET}.files`);
    this.chunks = db.collection<{ files_id: string }>(`${BUCKET}.chunks`);
  }

  static async open(db: Db): Promise<GridFsUploadStore> {
    const store = new GridFsUploadStore(db);
    await storeCall(() =>
      store.files.createIndex({ "metadata.sent": 1, uploadDate: 1 }, { name: "unsent_by_age" })
    );
    return store;
  }

  async create(
    upload: NewUpload,
    body: ReadableStream<Uint8Array>,
    maxBytes: number,
  ): Promise<UploadRecord> {
    const createdAt = new Date();
    const { _id, ...fields } = upload;
    const metadata: UploadMetadata = {
      ...fields,
      createdAt: createdAt.toISOString(),
      sent: false,
      refs: [],
    };
    const stream = this.bucket.openUploadStreamWithId(_id as never, upload.name, { metadata });
    const failed = once(stream, "error").then(([err]) => Promise.reject(err));
    failed.catch(() => {}); // observed below; never an unhandled rejection
    const limit = byteLimit(maxBytes);
    try {
      for await (const chunk of body.pipeThrough(limit)) {
        if (!stream.write(chunk)) await Promise.race([once(stream, "drain"), failed]);
      }
      stream.end();
      await storeCall(() => Promise.race([once(stream, "finish"), failed]));
    } catch (err) {
      // Removes the chunks written so far; the file document was never written.
      await stream.abort().catch(() => {});
      throw err;
    }
    return { ...upload, size: limit.size(), createdAt: metadata.createdAt, sent: false };
  }

  async get(id: string): Promise<UploadRecord | null> {
    const doc = await storeCall(() => this.files.findOne({ _id: id }));
    return doc ? toRecord(doc) : null;
  }

  async references(id: string): Promise<UploadReference[]> {
    const doc = await storeCall(() => this.files.findOne({ _id: id }));
    return doc?.metadata.refs ?? [];
  }

  async read(id: string, range?: ByteRange): Promise<ReadableStream<Uint8Array> | null> {
    if (!await this.get(id)) return null;
    const download = this.bucket.openDownloadStream(
      id as never,
      range ? { start: range.start, end: range.end + 1 } : {},
    );
    const chunks = download[Symbol.asyncIterator]();
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const next = await chunks.next();
          if (next.done) controller.close();
          else controller.enqueue(new Uint8Array(next.value as Uint8Array));
        } catch (err) {
          controller.error(err);
        }
      },
      async cancel() {
        await download.abort().catch(() => {});
      },
    });
  }

  async attach(id: string, reference: UploadReference): Promise<boolean> {
    const result = await storeCall(() =>
      this.files.updateOne(
        { _id: id },
        { $addToSet: { "metadata.refs": reference }, $set: { "metadata.sent": true } },
      )
    );
    return result.matchedCount === 1;
  }

  async detach(id: string, reference: UploadReference): Promise<number> {
    // The whole element: FerretDB's $pull matches subdocuments by equality only.
    const element = { messageId: reference.messageId, receiverId: reference.receiverId };
    await storeCall(() =>
      this.files.updateOne({ _id: id }, { $pull: { "metadata.refs": element } })
    );
    return (await this.references(id)).length;
  }

  async deleteIfUnreferenced(id: string): Promise<boolean> {
    // One conditional delete: an attach that lands first keeps the upload.
    const result = await storeCall(() =>
      this.files.deleteOne({ _id: id, "metadata.refs": { $size: 0 } })
    );
    if (result.deletedCount !== 1) return false;
    await storeCall(() => this.chunks.deleteMany({ files_id: id }));
    return true;
  }

  async unsentBefore(before: Date, limit: number): Promise<string[]> {
    const docs = await storeCall(() =>
      this.files.find({ "metadata.sent": false, uploadDate: { $lt: before } })
        .sort({ uploadDate: 1 })
        .limit(limit)
        .project<{ _id: string }>({ _id: 1 })
        .toArray()
    );
    return docs.map((doc) => doc._id);
  }
}

function toRecord(doc: UploadFileDoc): UploadRecord {
  const { refs: _refs, ...metadata } = doc.metadata;
  return { _id: doc._id, size: doc.length, ...metadata };
}
