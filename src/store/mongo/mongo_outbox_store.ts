/**
 * The outbox with MongoDB:
 *
 *   outbox { _id, channel, payload, attempts, dueAt, createdAt, finishedAt }
 *
 * `dueAt` (epoch ms) is null once the entry is finished: the document then is
 * a tombstone against its id being added again, with the payload emptied.
 * A claim is one `findOneAndUpdate` per entry, earliest due first: MongoDB
 * changes one document atomically, so two nodes never lease one entry (on
 * FerretDB, where it is a read and a write, see ferretdb.ts, item 1). Index `{dueAt: 1}` serves claims and the
 * next due time, `{finishedAt: 1}` the purge of tombstones.
 */
import type { Collection, Db } from "mongodb";
import type { NewOutboxEntry, OutboxEntry, OutboxStore } from "../outbox_store.ts";
import { createIndexes, inChunks, inRounds, SerialQueue } from "./ferretdb.ts";
import { DUPLICATE_KEY, perDocumentErrors, storeCall } from "./store_errors.ts";

const COLLECTION = "outbox";

interface OutboxDoc {
  _id: string;
  channel: string;
  payload: string;
  attempts: number;
  dueAt: number | null;
  createdAt: number;
  finishedAt: number | null;
}

/** Matches unfinished entries only (a number; null is a finished one). */
const UNFINISHED = { $gte: 0 };

export class MongoOutboxStore implements OutboxStore {
  /** This process's claims, one at a time (ferretdb.ts, item 1). */
  private readonly claims = new SerialQueue();

  private constructor(private readonly outbox: Collection<OutboxDoc>) {}

  static async open(db: Db): Promise<MongoOutboxStore> {
    await storeCall(() =>
      createIndexes(db, [
        { collection: COLLECTION, key: { dueAt: 1 }, name: "due" },
        { collection: COLLECTION, key: { finishedAt: 1 }, name: "finished" },
      ])
    );
    return new MongoOutboxStore(db.collection<OutboxDoc>(COLLECTION));
  }

  async add(entries: readonly NewOutboxEntry[], now: number): Promise<void> {
    for (const chunk of inChunks(entries)) {
      const docs: OutboxDoc[] = chunk.map(({ id, channel, payload }) => ({
        _id: id,
        channel,
        payload,
        attempts: 0,
        dueAt: now,
        createdAt: now,
        finishedAt: null,
      }));
      await storeCall(async () => {
        try {
          await this.outbox.insertMany(docs, { ordered: false });
        } catch (err) {
          // An id already there (queued or finished) is left as it is.
          if (perDocumentErrors(err).some((e) => e.code !== DUPLICATE_KEY)) throw err;
        }
      });
    }
  }

  claim(now: number, limit: number, leaseMs: number): Promise<OutboxEntry[]> {
    return this.claims.run(() => this.claimEach(now, limit, leaseMs));
  }

  private async claimEach(now: number, limit: number, leaseMs: number): Promise<OutboxEntry[]> {
    const claimed: OutboxEntry[] = [];
    while (claimed.length < limit) {
      const doc = await storeCall(() =>
        this.outbox.findOneAndUpdate(
          { dueAt: { $gte: 0, $lte: now } },
          { $set: { dueAt: now + leaseMs }, $inc: { attempts: 1 } },
          { sort: { dueAt: 1 }, returnDocument: "after" },
        )
      );
      if (!doc) break;
      claimed.push({
        id: doc._id,
        channel: doc.channel,
        payload: doc.payload,
        attempts: doc.attempts,
      });
    }
    return claimed;
  }

  async finish(id: string, now: number): Promise<void> {
    await storeCall(() =>
      this.outbox.updateOne(
        { _id: id },
        { $set: { dueAt: null, finishedAt: now, payload: "" } },
      )
    );
  }

  async retryAt(id: string, dueAt: number): Promise<void> {
    await storeCall(() =>
      this.outbox.updateOne({ _id: id, dueAt: UNFINISHED }, { $set: { dueAt } })
    );
  }

  async nextDue(): Promise<number | null> {
    const doc = await storeCall(() =>
      this.outbox.find({ dueAt: UNFINISHED }).sort({ dueAt: 1 }).limit(1)
        .project<{ dueAt: number }>({ dueAt: 1 }).next()
    );
    return doc?.dueAt ?? null;
  }

  purge(before: number): Promise<number> {
    return storeCall(() =>
      inRounds(
        this.outbox,
        { finishedAt: { $gte: 0, $lt: before } },
        async (ids) => (await this.outbox.deleteMany({ _id: { $in: ids } })).deletedCount,
      )
    );
  }
}
