/**
 * Every workaround the MongoDB backend carries only because its test server is
 * FerretDB 1.24 (embedded, SQLite backend: scripts/mongo-test-server.sh), not
 * MongoDB. Production targets MongoDB 6+; each workaround is harmless there,
 * and each says below what real MongoDB would do instead, so that this module
 * is the list of what could go once the tests run on MongoDB.
 *
 * 1. Serial queues ({@linkcode SerialQueue}, {@linkcode KeyedSerialQueue}).
 *    FerretDB applies update operators (`$inc`, `$max`, `$set`) as a read of
 *    the document followed by a write of the whole document, and runs
 *    `findAndModify` the same way, so two changes of one document in flight at
 *    once can undo each other (a lost `$inc` on an unread count, a read counted
 *    twice, a receipt bringing back a deleted message, a presence write
 *    bringing back an old `isOnline`). So this process never runs two changes
 *    of one document at once: every conversation-row write (send batches,
 *    reads, deletes) goes through one `SerialQueue`; the changes of one message
 *    (read, receipt, delete) and of one user (profile, presence) through a
 *    `KeyedSerialQueue` per document. MongoDB changes a single document
 *    atomically: it needs none of these queues (they would only order this
 *    process's rare concurrent writes of one document, and send batches could
 *    run side by side).
 *    The outbox's claim (mongo_outbox_store.ts) is a `findOneAndUpdate`
 *    too, so this process's claims go through one `SerialQueue` (two at once
 *    leased one entry twice here); two nodes on one FerretDB could still both
 *    lease an entry, which is then delivered twice under one delivery id
 *    (receivers dedupe on it). On MongoDB the claim is atomic across nodes.
 *    (gridfs_upload_store.ts also uses a `KeyedSerialQueue` to make one
 *    owner's uploads wait for the quota lock in turn rather than poll it;
 *    that use is not a FerretDB workaround and stays on MongoDB.)
 *
 * 2. {@linkcode upsertRetrying} and the retry inside {@linkcode bulkUpsert}.
 *    Two concurrent upserts of one new `_id` (another node, or a write outside
 *    the queues) both insert on FerretDB, and the loser fails with a duplicate
 *    key; the upsert is retried once, and then finds and updates the row.
 *    MongoDB 4.2+ retries such upserts itself: the retry never runs there.
 *
 * 3. {@linkcode createIndexes}: one `createIndex` call per index, and a
 *    partial filter dropped when the server does not implement it. FerretDB
 *    1.24 drops the connection when one `createIndexes` command names several
 *    indexes that already exist, and has no partial indexes. The unique
 *    `(senderId, clientMessageId)` index is partial on MongoDB (only messages
 *    that carry a client id); FerretDB gets a plain unique index, which there
 *    skips documents that lack the field, and messages without a client id
 *    never store it. MongoDB would take every index of a collection in one
 *    `createIndexes` command, partial filter included (the fallback never
 *    runs there).
 *
 * 4. {@linkcode MAX_BULK_OPS}: no command carries more than 50 operations or
 *    documents. An `update` (or `bulkWrite`) command of 100 updates of existing
 *    documents never answers on FerretDB (99 do), and that database then stops
 *    answering even plain reads until the server restarts (tests/mongo_bulk_test.ts:
 *    100 conversations answering at once). So `insertMany`, `bulkWrite`, `$in`
 *    lists of `updateMany`/`deleteMany`/`find`, and the multi-document update
 *    and delete (`markAllOffline`, a GridFS file's chunks: in rounds of at most
 *    50 documents, found by an indexed read) are all cut to this size, one
 *    chunk after another ({@linkcode inChunks}, {@linkcode bulkUpsert},
 *    {@linkcode inRounds}). One-statement multi-document updates and deletes,
 *    bulk deletes and inserts of new documents were seen to cope with more
 *    (300 here); the bound covers them too, for the price of a few round trips.
 *    MongoDB takes up to 100,000 operations per command (`maxWriteBatchSize`;
 *    the driver splits larger ones itself): one command per batch or list
 *    would do.
 *    Left unbounded: GridFS's own `abort()`, which removes an aborted upload's
 *    chunks with one `deleteMany` inside the driver (one statement; seen fine).
 *
 * 5. {@linkcode MAX_POOL_SIZE}: 10 connections per process. FerretDB's SQLite
 *    takes one write at a time; more connections only move the queue into
 *    FerretDB, where the driver's 5 s socket timeout runs. With 200 clients
 *    exchanging 400 messages (tests/mongo_bulk_test.ts), a pool of 100 (the
 *    driver's default) had 61 of the 400 delivery receipts fail with
 *    STORE_UNAVAILABLE, 50 had 34 to 68 (four runs), 20 had 5, 10 none (three
 *    runs): the operations wait in the driver's queue instead. MongoDB runs
 *    operations side by side: the driver's default of 100 (or a size fitted
 *    to the load) would do.
 *
 * 6. {@linkcode searchKeys}: search by a multikey index of `userId NUL word`
 *    keys. FerretDB 1.24 has no text index and no `$text` ("unknown top level
 *    operator: $text"), nor array traversal in dotted paths or the positional
 *    `$` update. So each message stores, for each participant that has not
 *    hidden it, one key per word of its text (`searchWords`, the words SQLite's
 *    FTS5 matches too), and a search asks for all of the user's keys with
 *    `$all`, newest first by `_id`. The user is in the key because a compound
 *    index cannot hold two arrays (`participants` and the words). On MongoDB a
 *    text index with `$text` could serve it instead, at the price of its own
 *    stemming and stop words (results unlike SQLite's) and a user filter
 *    applied after the text match; these keys are index-served there too.
 *    Reactions change by reading the message and writing its whole list back
 *    with the list read as the update's condition (no positional `$` here).
 *
 * Smaller choices made for FerretDB that are equally right on MongoDB and stay:
 * the GridFS quota lock is taken by inserting a document (an insert is atomic
 * on FerretDB too; a conditional update is not), `$pull` is given the whole
 * reference element (FerretDB matches subdocuments by equality only), and
 * tests/mongo_indexes_test.ts checks index coverage from `listIndexes` where
 * the server reports no MongoDB query plan.
 */
import {
  type AnyBulkWriteOperation,
  type Collection,
  type CreateIndexesOptions,
  type Db,
  type Document,
  type Filter,
  type IndexSpecification,
  MongoServerError,
  type WithId,
} from "mongodb";
import { searchWords } from "../repository.ts";
import { DUPLICATE_KEY, perDocumentErrors } from "./store_errors.ts";

// ---------------------------------------------------------------------------
// 1. Serial queues: one write of one document at a time.

/**
 * Runs jobs one at a time, in the order they were queued.
 *
 * A job must not wait for another job of the same queue: it would wait forever.
 */
export class SerialQueue {
  private tail: Promise<unknown> = Promise.resolve();

  /** Runs `job` once every job queued before it has settled; settles as `job` does. */
  run<T>(job: () => Promise<T>): Promise<T> {
    const result = this.tail.then(job);
    // The next job waits for this one whatever its outcome.
    this.tail = result.then(() => {}, () => {});
    return result;
  }
}

/**
 * One {@linkcode SerialQueue} per key, made on demand and dropped once idle:
 * jobs of one key run one at a time, jobs of different keys concurrently.
 */
export class KeyedSerialQueue {
  private readonly tails = new Map<string, Promise<void>>();

  /** Runs `job` once every job queued before it under `key` has settled; settles as `job` does. */
  run<T>(key: string, job: () => Promise<T>): Promise<T> {
    const result = (this.tails.get(key) ?? Promise.resolve()).then(job);
    const tail = result.then(() => {}, () => {});
    this.tails.set(key, tail);
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}

// ---------------------------------------------------------------------------
// 2. Upserts retried once after losing an insert race.

/**
 * Runs an upsert, once more if it lost an insert race to a concurrent upsert
 * of the same key: the retry then finds the row and updates it.
 */
export async function upsertRetrying<T>(upsert: () => Promise<T>): Promise<T> {
  try {
    return await upsert();
  } catch (err) {
    if (!(err instanceof MongoServerError && err.code === DUPLICATE_KEY)) throw err;
    return await upsert();
  }
}

/**
 * Writes upserts as unordered `bulkWrite` commands of at most
 * {@linkcode MAX_BULK_OPS} operations each, one after another; in each, the
 * upserts that lost an insert race (duplicate key) are retried once. Any other
 * failure rejects, the chunks before it written.
 */
export async function bulkUpsert<T extends Document>(
  collection: Collection<T>,
  ops: readonly AnyBulkWriteOperation<T>[],
): Promise<void> {
  for (const chunk of inChunks(ops)) {
    try {
      await collection.bulkWrite(chunk, { ordered: false });
    } catch (err) {
      const writeErrors = perDocumentErrors(err);
      if (writeErrors.some((e) => e.code !== DUPLICATE_KEY)) throw err;
      await collection.bulkWrite(writeErrors.map((e) => chunk[e.index]!), { ordered: false });
    }
  }
}

// ---------------------------------------------------------------------------
// 3. Indexes: one createIndex call each; partial filters only where implemented.

/** The server does not implement an index option (FerretDB 1.x: partial filters). */
const NOT_IMPLEMENTED = 238;

export interface IndexSpec
  extends Pick<CreateIndexesOptions, "unique" | "partialFilterExpression"> {
  collection: string;
  key: IndexSpecification;
  name: string;
}

/**
 * Creates the indexes, idempotently, one `createIndex` call each. An index
 * with a `partialFilterExpression` is created without it where the server
 * does not implement partial indexes: give one only where the plain index is
 * right on such a server too.
 */
export async function createIndexes(db: Db, specs: readonly IndexSpec[]): Promise<void> {
  for (const { collection, key, ...options } of specs) {
    try {
      await db.collection(collection).createIndex(key, options);
    } catch (err) {
      const notImplemented = err instanceof MongoServerError && err.code === NOT_IMPLEMENTED;
      if (!(notImplemented && options.partialFilterExpression)) throw err;
      const { partialFilterExpression: _, ...plain } = options;
      await db.collection(collection).createIndex(key, plain);
    }
  }
}

// ---------------------------------------------------------------------------
// 4. Every bulk or multi-document command bounded.

/** Most operations, documents or `$in` values one command carries. */
export const MAX_BULK_OPS = 50;

/** `items` cut into consecutive slices of at most `size`. */
export function inChunks<T>(items: readonly T[], size = MAX_BULK_OPS): T[][] {
  const chunks: T[][] = [];
  for (let i = 0; i < items.length; i += size) chunks.push(items.slice(i, i + size));
  return chunks;
}

/**
 * Runs `work` on the `_id`s of the documents matching `filter`, at most
 * {@linkcode MAX_BULK_OPS} at a time (an indexed read of the next ones, then
 * `work`), until none match any more; resolves with the sum of what `work`
 * counted. `work` must make the documents it is given stop matching (or count
 * 0 for them): a round that counts nothing ends the loop, so that documents
 * `work` leaves matching are not read again forever.
 */
export async function inRounds<T extends Document>(
  collection: Collection<T>,
  filter: Filter<T>,
  work: (ids: WithId<T>["_id"][]) => Promise<number>,
): Promise<number> {
  let total = 0;
  for (;;) {
    const docs = await collection.find(filter)
      .project<{ _id: WithId<T>["_id"] }>({ _id: 1 })
      .limit(MAX_BULK_OPS)
      .toArray();
    if (docs.length === 0) return total;
    const done = await work(docs.map((doc) => doc._id));
    total += done;
    if (done === 0 || docs.length < MAX_BULK_OPS) return total;
  }
}

// ---------------------------------------------------------------------------
// 5. A small connection pool.

/** Connections per process (chat, uploads and subscriptions together). */
export const MAX_POOL_SIZE = 10;

// ---------------------------------------------------------------------------
// 6. Search by keys of user and word (no text index, no `$text`).

/** The search keys of `text` for each of `userIds`; none for sealed text (encryption at rest). */
export function searchKeys(text: string | null | undefined, userIds: readonly string[]): string[] {
  if (!text || text.startsWith("enc:v1:")) return [];
  const words = searchWords(text);
  return userIds.flatMap((userId) => words.map((word) => searchKey(userId, word)));
}

export function searchKey(userId: string, word: string): string {
  return `${userId}\u0000${word}`;
}
