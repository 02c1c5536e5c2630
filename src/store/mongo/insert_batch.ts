/**
 * Batched sends for MongoDB: messages that arrive while a batch is being
 * written share the next `insertMany` (unordered, so a repeated client id
 * fails alone) and then unordered `bulkWrite`s of conversation-row updates,
 * merged per row. Both go out in commands of at most `MAX_BULK_OPS` (50)
 * documents or updates (ferretdb.ts: FerretDB never answers an update command
 * of 100 updates). A caller's promise settles only after both, exactly as the
 * one-message path did (message durable with the client's write concern, then
 * its two conversation rows).
 *
 * Each batch is one job of the repository's row-write queue (ferretdb.ts),
 * which also runs the conversation-row writes of reads and deletes: this
 * process then never updates one conversation row concurrently with itself,
 * and FerretDB, which applies `$inc`/`$max` as a read-modify-write, loses no
 * update.
 */
import {
  type AnyBulkWriteOperation,
  type Collection,
  MongoServerError,
  type ObjectId,
} from "mongodb";
import { bulkUpsert, inChunks, type SerialQueue } from "./ferretdb.ts";
import { DUPLICATE_KEY, perDocumentErrors, storeCall } from "./store_errors.ts";
import { idText, type StoredId } from "./stored_ids.ts";

/** The fields of a message document a batch needs; the rest is stored as given. */
export interface BatchedMessage {
  _id: ObjectId;
  senderId: StoredId;
  receiverId?: StoredId;
}

/** The fields of a conversation row a batch writes. */
export interface BatchedConversation {
  _id: string;
  ownerId: string;
  partnerId: string;
  lastMessageId: ObjectId;
  unreadCount: number;
}

export type InsertOutcome = "inserted" | "duplicate";

export interface InsertBatchOptions {
  /** Row id of the conversation of `owner` with `partner`. */
  rowId(owner: string, partner: string): string;
  /** The queue every conversation-row write of the repository goes through. */
  rowWrites: SerialQueue;
  /** Messages per batch. Default 500. */
  maxBatch?: number;
}

interface Pending<D> {
  doc: D;
  resolve(outcome: InsertOutcome): void;
  reject(reason: unknown): void;
}

interface RowUpdate {
  owner: string;
  partner: string;
  lastMessageId: ObjectId;
  unreadDelta: number;
}

export class InsertBatch<D extends BatchedMessage> {
  private readonly queue: Pending<D>[] = [];
  private running: Promise<void> | undefined;
  private readonly maxBatch: number;

  constructor(
    private readonly messages: Collection<D>,
    private readonly conversations: Collection<BatchedConversation>,
    private readonly options: InsertBatchOptions,
  ) {
    this.maxBatch = options.maxBatch ?? 500;
  }

  /** Stores `doc`; "duplicate" when the unique client-id index refused it. */
  submit(doc: D): Promise<InsertOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ doc, resolve, reject });
      if (!this.running) this.running = this.drain();
    });
  }

  private async drain(): Promise<void> {
    try {
      // Let the sends of the current tick join the first batch.
      await Promise.resolve();
      while (this.queue.length > 0) {
        await this.options.rowWrites.run(() => this.writeNext());
      }
    } finally {
      this.running = undefined;
    }
  }

  /** Settles every send of the next batch; never throws. */
  private async writeNext(): Promise<void> {
    // Taken when the queue's turn comes, not before: sends that arrived while
    // other row writes ran join this batch.
    const batch = this.queue.splice(0, this.maxBatch);
    try {
      await storeCall(() => this.write(batch));
    } catch (err) {
      for (const p of batch) p.reject(err);
    }
  }

  private async write(batch: Pending<D>[]): Promise<void> {
    const failed = new Map<number, unknown>();
    const duplicates = new Set<number>();
    let offset = 0;
    for (const chunk of inChunks(batch)) {
      try {
        // deno-lint-ignore no-explicit-any -- the driver's OptionalId<D> cannot be named generically
        await this.messages.insertMany(chunk.map((p) => p.doc) as any[], { ordered: false });
      } catch (err) {
        for (const e of perDocumentErrors(err)) {
          const i = offset + e.index;
          if (e.code === DUPLICATE_KEY) duplicates.add(i);
          else failed.set(i, new MongoServerError(e.errInfo ?? { message: e.errmsg }));
        }
      }
      offset += chunk.length;
    }

    const stored = batch.filter((_, i) => !duplicates.has(i) && !failed.has(i));
    await this.updateRows(stored.map((p) => p.doc));
    batch.forEach((p, i) => {
      if (failed.has(i)) p.reject(failed.get(i));
      else p.resolve(duplicates.has(i) ? "duplicate" : "inserted");
    });
  }

  /**
   * One upsert per conversation row touched (newest message id, summed unread
   * delta), in bulk commands of at most MAX_BULK_OPS.
   */
  private async updateRows(docs: D[]): Promise<void> {
    const rows = new Map<string, RowUpdate>();
    const bump = (owner: string, partner: string, id: ObjectId, unreadDelta: number) => {
      const key = this.options.rowId(owner, partner);
      const row = rows.get(key);
      if (!row) {
        rows.set(key, { owner, partner, lastMessageId: id, unreadDelta });
        return;
      }
      if (id.toHexString() > row.lastMessageId.toHexString()) row.lastMessageId = id;
      row.unreadDelta += unreadDelta;
    };
    for (const doc of docs) {
      // Conversation rows name users as clients do (strings), however messages store them.
      const sender = idText(doc.senderId);
      const receiver = idText(doc.receiverId!);
      bump(sender, receiver, doc._id, 0);
      bump(receiver, sender, doc._id, 1);
    }
    if (rows.size === 0) return;
    const ops: AnyBulkWriteOperation<BatchedConversation>[] = [...rows].map(([_id, row]) => ({
      updateOne: {
        filter: { _id },
        update: {
          $set: { ownerId: row.owner, partnerId: row.partner },
          $max: { lastMessageId: row.lastMessageId },
          $inc: { unreadCount: row.unreadDelta },
        },
        upsert: true,
      },
    }));
    await bulkUpsert(this.conversations, ops);
  }
}
