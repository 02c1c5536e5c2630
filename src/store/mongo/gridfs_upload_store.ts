/**
 * Uploads with MongoDB: bytes in GridFS (bucket `uploads`), the record in the
 * GridFS file document's `metadata`, which GridFS writes only once every chunk
 * is stored: an upload is visible whole or not at all.
 *
 *   uploads.files  { _id: id, length, uploadDate, filename,
 *                    metadata: { ownerId, name, mime, kind, createdAt, sent,
 *                                refs: [{ messageId, receiverId }] } }
 *   uploads.chunks { files_id, n, data }   (GridFS)
 *   upload_quota_locks { _id: ownerId, holder: upload id, expiresAt }
 * Index `{ "metadata.sent": 1, uploadDate: 1 }` serves the retention sweep,
 * `{ "metadata.ownerId": 1, length: 1 }` a user's usage (the sum of `length`
 * over their file documents: the quota counts what is really stored, with
 * nothing to keep in step). Checking that sum and writing the file document
 * happen under the owner's quota lock, so that concurrent uploads, on any
 * node, fit the quota together.
 */
import { once } from "node:events";
import { setTimeout as delay } from "node:timers/promises";
import { type Collection, type Db, type Filter, GridFSBucket, MongoServerError } from "mongodb";
import { AppError } from "../../errors.ts";
import { createIndexes, inRounds, KeyedSerialQueue, MAX_BULK_OPS } from "./ferretdb.ts";
import type { ForwardPage } from "../repository.ts";
import { DUPLICATE_KEY, storeCall } from "./store_errors.ts";
import {
  byteLimit,
  type ByteRange,
  type NewUpload,
  quotaExceeded,
  type UploadLimits,
  type UploadRecord,
  type UploadReference,
  type UploadStore,
} from "../upload_store.ts";

const BUCKET = "uploads";
/**
 * A quota lock is held for a usage sum and a file document's write; one left
 * by a process that died frees itself after this long.
 */
const LOCK_TTL_MS = 10_000;
/** Wait between two tries of a lock another node holds. */
const LOCK_RETRY_MS = 20;

interface UploadMetadata extends Omit<UploadRecord, "_id" | "size"> {
  refs: UploadReference[];
}

interface QuotaLock {
  _id: string;
  holder: string;
  expiresAt: Date;
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
  private readonly locks: Collection<QuotaLock>;
  /** This process's uploads of one owner wait for the quota lock here rather than polling it. */
  private readonly lockQueue = new KeyedSerialQueue();

  private constructor(db: Db) {
    this.bucket = new GridFSBucket(db, { bucketName: BUCKET });
    this.files = db.collection<UploadFileDoc>(`${BUCKET}.files`);
    this.chunks = db.collection<{ files_id: string }>(`${BUCKET}.chunks`);
    this.locks = db.collection<QuotaLock>("upload_quota_locks");
  }

  static async open(db: Db): Promise<GridFsUploadStore> {
    const files = `${BUCKET}.files`;
    await storeCall(() =>
      createIndexes(db, [
        { collection: files, key: { "metadata.sent": 1, uploadDate: 1 }, name: "unsent_by_age" },
        { collection: files, key: { "metadata.ownerId": 1, length: 1 }, name: "usage_by_owner" },
      ])
    );
    return new GridFsUploadStore(db);
  }

  async create(
    upload: NewUpload,
    body: ReadableStream<Uint8Array>,
    limits: UploadLimits,
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
    const limit = byteLimit(limits, limits.quotaBytes - await this.usage(upload.ownerId));
    try {
      for await (const chunk of body.pipeThrough(limit)) {
        if (!stream.write(chunk)) await Promise.race([once(stream, "drain"), failed]);
      }
      // `end()` writes the last chunk and the file document, from which on it counts.
      await this.withQuotaLock(upload.ownerId, _id, async () => {
        if (await this.usage(upload.ownerId) + limit.size() > limits.quotaBytes) {
          throw quotaExceeded(limits.quotaBytes);
        }
        stream.end();
        await storeCall(() => Promise.race([once(stream, "finish"), failed]));
      });
    } catch (err) {
      // Removes the chunks written so far (one deleteMany inside the driver,
      // the one command ferretdb.ts leaves unbounded); the file document was never written.
      await stream.abort().catch(() => {});
      throw err;
    }
    return { ...upload, size: limit.size(), createdAt: metadata.createdAt, sent: false };
  }

  async usage(ownerId: string): Promise<number> {
    const [total] = await storeCall(() =>
      this.files.aggregate<{ bytes: number }>([
        { $match: { "metadata.ownerId": ownerId } },
        { $group: { _id: null, bytes: { $sum: "$length" } } },
      ]).toArray()
    );
    return total?.bytes ?? 0;
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
    // A large file has thousands of chunks: removed MAX_BULK_OPS at a time (ferretdb.ts).
    await storeCall(() =>
      inRounds(this.chunks, { files_id: id }, async (ids) => {
        const removed = await this.chunks.deleteMany({ _id: { $in: ids } });
        return removed.deletedCount;
      })
    );
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

  async listForOwner(ownerId: string, query: ForwardPage): Promise<UploadRecord[]> {
    const docs = await storeCall(() =>
      this.files.find({
        "metadata.ownerId": ownerId,
        ...(query.after === undefined ? {} : { _id: { $gt: query.after } }),
      }).sort({ _id: 1 }).limit(query.limit).toArray()
    );
    return docs.map(toRecord);
  }

  /**
   * The erasure's part here (mongo_erasure.ts): the references of messages to
   * `userId` go from others' uploads, which then go if nothing else carries
   * them; the user's own uploads go whatever carries them. Safe to repeat.
   */
  async eraseUser(userId: string): Promise<number> {
    let removed = 0;
    // A dotted path into the array of references (FerretDB 1.24 matches these; $elemMatch it does not).
    const received = await storeCall(() =>
      this.files.find({ "metadata.refs.receiverId": userId } as Filter<UploadFileDoc>)
        .project<Pick<UploadFileDoc, "_id" | "metadata">>({ _id: 1, metadata: 1 }).toArray()
    );
    for (const doc of received) {
      for (const ref of doc.metadata.refs.filter((r) => r.receiverId === userId)) {
        await this.detach(doc._id, ref);
      }
      if (await this.deleteIfUnreferenced(doc._id)) removed++;
    }
    // Until a round removes nothing (none left, or an attach raced in: never a loop).
    for (let round = -1; round !== 0;) {
      round = 0;
      for (const record of await this.listForOwner(userId, { limit: MAX_BULK_OPS })) {
        await storeCall(() =>
          this.files.updateOne({ _id: record._id }, { $set: { "metadata.refs": [] } })
        );
        if (await this.deleteIfUnreferenced(record._id)) round++;
      }
      removed += round;
    }
    return removed;
  }

  /**
   * Runs `work` holding the owner's quota lock: a document whose `_id` is the
   * owner, so that of two inserts one fails with a duplicate key (an insert is
   * atomic on FerretDB too, where a conditional update is a read then a write).
   * Who finds it taken tries again shortly; an expired one is removed first
   * (after a node died holding it, two nodes removing it at once could both go
   * ahead once on FerretDB: accepted for that rare case).
   */
  private withQuotaLock<T>(ownerId: string, holder: string, work: () => Promise<T>): Promise<T> {
    return this.lockQueue.run(ownerId, async () => {
      const giveUpAt = Date.now() + 2 * LOCK_TTL_MS;
      for (;;) {
        const now = Date.now();
        try {
          await storeCall(() =>
            this.locks.insertOne({ _id: ownerId, holder, expiresAt: new Date(now + LOCK_TTL_MS) })
          );
          break;
        } catch (err) {
          if (!(err instanceof MongoServerError && err.code === DUPLICATE_KEY)) throw err;
        }
        await storeCall(() =>
          this.locks.deleteOne({ _id: ownerId, expiresAt: { $lt: new Date(now) } })
        );
        if (Date.now() > giveUpAt) {
          throw new AppError("STORE_UNAVAILABLE", "Another upload of yours is being stored; retry");
        }
        await delay(LOCK_RETRY_MS);
      }
      try {
        return await work();
      } finally {
        // Only our own: one that expired meanwhile may be someone else's now. A
        // failure here leaves it to expire.
        await storeCall(() => this.locks.deleteOne({ _id: ownerId, holder })).catch(() => {});
      }
    });
  }
}

function toRecord(doc: UploadFileDoc): UploadRecord {
  const { refs: _refs, ...metadata } = doc.metadata;
  return { _id: doc._id, size: doc.length, ...metadata };
}
