/**
 * The chat store of the MongoDB backend (mongo_backend.ts opens the client
 * and hands this its database).
 *
 * Collections:
 *   users          { _id: userId, username, email, isOnline, lastSeen, createdAt, updatedAt }
 *   messages       { _id: ObjectId, conversationId, participants, senderId, receiverId, text,
 *                    file, clientMessageId?, createdAt, updatedAt, deliveredAt, readAt }
 *                  A deleted message that had a client id becomes a tombstone
 *                  { _id, senderId, clientMessageId, deletedAt } so that the unique
 *                  index keeps refusing its id (a resend recreates nothing).
 *   conversations  { _id: [owner, partner] as JSON, ownerId, partnerId, lastMessageId,
 *                    unreadCount }, one row per user and partner, updated on every write.
 * Indexes are created idempotently by `ensureIndexes` (see indexes.ts). What is
 * here only for FerretDB (queues, upsert retries, bounded commands) comes from
 * ferretdb.ts.
 */
import { type Collection, type Db, ObjectId } from "mongodb";
import { AppError } from "../../errors.ts";
import type { ChatMessage, FileAttachment } from "../../protocol/types.ts";
import { conversationKey } from "../conversation_key.ts";
import type {
  ChatStore,
  ConversationSummary,
  HistoryQuery,
  InsertResult,
  MessageRepository,
  NewMessage,
  PageQuery,
  User,
  UserProfile,
  UserRepository,
} from "../repository.ts";
import { inChunks, inRounds, KeyedSerialQueue, SerialQueue, upsertRetrying } from "./ferretdb.ts";
import { InsertBatch } from "./insert_batch.ts";
import { LIVE, queries } from "./queries.ts";
import { storeCall } from "./store_errors.ts";

export interface MessageDoc {
  _id: ObjectId;
  conversationId?: string;
  participants?: string[];
  senderId: string;
  receiverId?: string;
  text?: string | null;
  file?: FileAttachment | null;
  clientMessageId?: string;
  createdAt?: Date;
  updatedAt?: Date;
  deliveredAt?: Date | null;
  readAt?: Date | null;
  deletedAt?: Date;
}

export interface UserDoc {
  _id: string;
  username: string | null;
  email: string | null;
  isOnline: boolean;
  lastSeen: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface ConversationDoc {
  _id: string;
  ownerId: string;
  partnerId: string;
  lastMessageId: ObjectId;
  unreadCount: number;
}

/** The chat store, plus what the backend's `close()` waits for. */
export interface MongoChatStore extends ChatStore {
  /** Resolves once the writes queued so far (sends, reads, receipts, deletes, presence) are done. */
  idle(): Promise<void>;
}

/** The chat store on `db`, whose indexes `ensureIndexes` has created. */
export function mongoChatStore(db: Db): MongoChatStore {
  const writes = new WritesUnderWay();
  return {
    kind: "mongo",
    users: new MongoUserRepository(db.collection<UserDoc>("users"), writes),
    messages: new MongoMessageRepository(db, writes),
    idle: () => writes.idle(),
  };
}

/** The store's writes not settled yet. */
class WritesUnderWay {
  private readonly pending = new Set<Promise<unknown>>();

  track<T>(write: Promise<T>): Promise<T> {
    this.pending.add(write);
    const done = () => this.pending.delete(write);
    write.then(done, done);
    return write;
  }

  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }
}

/** One JSON string per ordered pair: unambiguous whatever characters ids hold. */
function pairId(a: string, b: string): string {
  return JSON.stringify([a, b]);
}

function conversationId(a: string, b: string): string {
  return pairId(...conversationKey(a, b));
}

function toObjectId(id: string): ObjectId | null {
  return /^[0-9a-f]{24}$/i.test(id) ? new ObjectId(id) : null;
}

function toMessage(doc: MessageDoc): ChatMessage {
  return {
    _id: doc._id.toHexString(),
    senderId: doc.senderId,
    receiverId: doc.receiverId!,
    text: doc.text ?? null,
    file: doc.file ?? null,
    clientMessageId: doc.clientMessageId ?? null,
    createdAt: doc.createdAt!.toISOString(),
    updatedAt: doc.updatedAt!.toISOString(),
    deliveredAt: doc.deliveredAt ? doc.deliveredAt.toISOString() : null,
    readAt: doc.readAt ? doc.readAt.toISOString() : null,
  };
}

function toUser(doc: UserDoc): User {
  return {
    _id: doc._id,
    username: doc.username ?? null,
    email: doc.email ?? null,
    isOnline: doc.isOnline ?? false,
    lastSeen: doc.lastSeen ? doc.lastSeen.toISOString() : null,
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
  };
}

class MongoUserRepository implements UserRepository {
  /** Every change of one user (profile, presence) runs one at a time: see KeyedSerialQueue. */
  private readonly userWrites = new KeyedSerialQueue();

  constructor(
    private readonly users: Collection<UserDoc>,
    private readonly writes: WritesUnderWay,
  ) {}

  upsertProfile(userId: string, profile: UserProfile): Promise<User> {
    return this.writes.track(storeCall(async () => {
      const now = new Date();
      const given: Partial<UserDoc> = {};
      if (profile.username !== undefined) given.username = profile.username;
      if (profile.email !== undefined) given.email = profile.email;
      const defaults: Partial<UserDoc> = { isOnline: false, lastSeen: null, createdAt: now };
      if (!("username" in given)) defaults.username = null;
      if (!("email" in given)) defaults.email = null;
      const doc = await this.userWrites.run(
        userId,
        () =>
          upsertRetrying(() =>
            this.users.findOneAndUpdate(
              { _id: userId },
              { $set: { ...given, updatedAt: now }, $setOnInsert: defaults },
              { upsert: true, returnDocument: "after" },
            )
          ),
      );
      return toUser(doc!);
    }));
  }

  setPresence(userId: string, isOnline: boolean, lastSeen: string): Promise<void> {
    return this.writes.track(storeCall(async () => {
      const now = new Date();
      await this.userWrites.run(userId, () =>
        upsertRetrying(() =>
          this.users.updateOne(
            { _id: userId },
            {
              $set: { isOnline, lastSeen: new Date(lastSeen), updatedAt: now },
              $setOnInsert: { username: null, email: null, createdAt: now },
            },
            { upsert: true },
          )
        ));
    }));
  }

  markAllOffline(lastSeen: string): Promise<number> {
    return this.writes.track(storeCall(async () => {
      const online = queries.onlineUsers().filter;
      // At most MAX_BULK_OPS users per update (ferretdb.ts), found by the online_users index.
      return await inRounds(this.users, online, async (ids) => {
        const result = await this.users.updateMany({ ...online, _id: { $in: ids } }, {
          $set: { isOnline: false, updatedAt: new Date() },
          // Never back in time; a null or missing lastSeen takes the date.
          $max: { lastSeen: new Date(lastSeen) },
        });
        return result.modifiedCount;
      });
    }));
  }

  get(userId: string): Promise<User | null> {
    return storeCall(async () => {
      const doc = await this.users.findOne({ _id: userId });
      return doc ? toUser(doc) : null;
    });
  }

  getMany(userIds: readonly string[]): Promise<Map<string, User>> {
    return storeCall(async () => {
      const found = new Map<string, User>();
      for (const ids of inChunks([...new Set(userIds)])) {
        const docs = await this.users.find(queries.usersById(ids).filter).toArray();
        for (const doc of docs) found.set(doc._id, toUser(doc));
      }
      return found;
    });
  }
}

class MongoMessageRepository implements MessageRepository {
  private readonly messages: Collection<MessageDoc>;
  private readonly conversationsOf: Collection<ConversationDoc>;

  /**
   * Every write to `conversations` runs here, one at a time: FerretDB loses
   * concurrent updates of one row (ferretdb.ts).
   */
  private readonly rowWrites = new SerialQueue();

  /**
   * Every change of one message (read, delivery, delete) runs here, one at a
   * time per message: FerretDB's findAndModify is not atomic (ferretdb.ts).
   * Row writes come after, outside it.
   */
  private readonly messageWrites = new KeyedSerialQueue();

  /** Sends share insertMany + bulkWrite batches (insert_batch.ts), each a row-write job. */
  private readonly inserts: InsertBatch<MessageDoc>;

  constructor(db: Db, private readonly writes: WritesUnderWay) {
    this.messages = db.collection<MessageDoc>("messages");
    this.conversationsOf = db.collection<ConversationDoc>("conversations");
    this.inserts = new InsertBatch(this.messages, this.conversationsOf, {
      rowId: pairId,
      rowWrites: this.rowWrites,
    });
  }

  insert(input: NewMessage): Promise<InsertResult> {
    return this.writes.track(storeCall(async () => {
      const now = new Date();
      const { senderId: s, receiverId: r } = input;
      const doc: MessageDoc = {
        _id: new ObjectId(),
        conversationId: conversationId(s, r),
        participants: [s, r],
        senderId: s,
        receiverId: r,
        text: input.text,
        file: input.file,
        createdAt: now,
        updatedAt: now,
        deliveredAt: null,
        readAt: null,
      };
      // Absent, not null: the unique index then ignores messages without one.
      if (input.clientMessageId !== null) doc.clientMessageId = input.clientMessageId;
      // Stored, then both conversation rows updated, in a batch with concurrent sends.
      if (await this.inserts.submit(doc) === "inserted") {
        return { message: toMessage(doc), duplicate: false };
      }
      if (input.clientMessageId === null) throw new Error("duplicate key without a client id");
      return await this.duplicateOf(s, input.clientMessageId);
    }));
  }

  private async duplicateOf(senderId: string, clientMessageId: string): Promise<InsertResult> {
    const original = await this.messages.findOne(
      queries.byClientId(senderId, clientMessageId).filter,
    );
    if (!original || original.deletedAt) {
      throw new AppError("DELETED", "This message was deleted");
    }
    return { message: toMessage(original), duplicate: true };
  }

  get(messageId: string): Promise<ChatMessage | null> {
    return storeCall(async () => {
      const _id = toObjectId(messageId);
      if (!_id) return null;
      const doc = await this.messages.findOne(queries.messageById(_id).filter);
      return doc ? toMessage(doc) : null;
    });
  }

  history(userA: string, userB: string, query: HistoryQuery): Promise<ChatMessage[]> {
    return storeCall(async () => {
      const before = query.before === undefined ? undefined : toObjectId(query.before);
      if (before === null) throw new AppError("VALIDATION_ERROR", "before: not a message id");
      const { filter, sort } = queries.history(conversationId(userA, userB), before);
      const docs = await this.messages.find(filter)
        .sort(sort!).skip(query.skip).limit(query.limit).toArray();
      return docs.reverse().map(toMessage);
    });
  }

  listForUser(userId: string, query: PageQuery): Promise<ChatMessage[]> {
    return storeCall(async () => {
      const { filter, sort } = queries.myChats(userId);
      const docs = await this.messages.find(filter)
        .sort(sort!).skip(query.skip).limit(query.limit).toArray();
      return docs.map(toMessage);
    });
  }

  markRead(messageId: string, readAt: string): Promise<ChatMessage | null> {
    return this.writes.track(storeCall(async () => {
      const _id = toObjectId(messageId);
      if (!_id) return null;
      const at = new Date(readAt);
      // Only the call that finds the message live and unread changes it, so only
      // that one takes it off the unread count (a delete decrements only if it
      // removed the message unread: the two never both count it).
      const doc = await this.messageWrites.run(_id.toHexString(), async () => {
        const read = await this.messages.findOneAndUpdate(
          { _id, readAt: null, ...LIVE },
          { $set: { readAt: at, updatedAt: at } },
          { returnDocument: "after" },
        );
        if (read && !read.deliveredAt) {
          // Read implies delivered; a delivery receipt from another process may have won.
          await this.messages.updateOne({ _id, deliveredAt: null, ...LIVE }, {
            $set: { deliveredAt: at },
          });
          read.deliveredAt = (await this.messages.findOne({ _id }))?.deliveredAt ?? at;
        }
        return read;
      });
      if (!doc) return null;
      await this.rowWrites.run(() =>
        this.conversationsOf.updateOne(
          { _id: pairId(doc.receiverId!, doc.senderId), unreadCount: { $gt: 0 } },
          { $inc: { unreadCount: -1 } },
        )
      );
      return toMessage(doc);
    }));
  }

  markDelivered(messageId: string, deliveredAt: string): Promise<ChatMessage | null> {
    return this.writes.track(storeCall(async () => {
      const _id = toObjectId(messageId);
      if (!_id) return null;
      const at = new Date(deliveredAt);
      const doc = await this.messageWrites.run(
        _id.toHexString(),
        () =>
          this.messages.findOneAndUpdate(
            { _id, deliveredAt: null, ...LIVE },
            { $set: { deliveredAt: at, updatedAt: at } },
            { returnDocument: "after" },
          ),
      );
      return doc ? toMessage(doc) : null;
    }));
  }

  undelivered(
    receiverId: string,
    query: { limit: number; after?: string },
  ): Promise<ChatMessage[]> {
    return storeCall(async () => {
      const after = query.after === undefined ? undefined : toObjectId(query.after) ?? undefined;
      const { filter, sort } = queries.undelivered(receiverId, after);
      const docs = await this.messages.find(filter).sort(sort!).limit(query.limit).toArray();
      return docs.map(toMessage);
    });
  }

  delete(messageId: string): Promise<boolean> {
    return this.writes.track(storeCall(async () => {
      const _id = toObjectId(messageId);
      if (!_id) return false;
      const removed = await this.messageWrites.run(_id.toHexString(), async () => {
        // Sender and client id never change: this read only picks delete or tombstone.
        const found = await this.messages.findOne(queries.messageById(_id).filter);
        if (!found) return null;
        // The message as it was when removed, not as read above: a markRead that
        // lands in between (from another process) has already taken it off the
        // unread count, and then this must not.
        return found.clientMessageId === undefined
          ? await this.messages.findOneAndDelete({ _id, ...LIVE })
          : await this.messages.findOneAndReplace({ _id, ...LIVE }, {
            senderId: found.senderId,
            clientMessageId: found.clientMessageId,
            deletedAt: new Date(),
          }, { returnDocument: "before" });
      });
      if (!removed) return false;
      // One row-write job, newest-message lookup included: no batch can land
      // between the lookup and the rows it sets (or removes).
      await this.rowWrites.run(() => this.afterDelete(toMessage(removed), _id));
      return true;
    }));
  }

  /** The conversation rows after a delete; runs as a row-write job. */
  private async afterDelete(message: ChatMessage, _id: ObjectId): Promise<void> {
    const { senderId: s, receiverId: r } = message;
    if (!message.readAt) {
      await this.conversationsOf.updateOne(
        { _id: pairId(r, s), unreadCount: { $gt: 0 } },
        { $inc: { unreadCount: -1 } },
      );
    }
    // Two rows: far below MAX_BULK_OPS.
    const rows = { _id: { $in: [pairId(s, r), pairId(r, s)] }, lastMessageId: _id };
    const { filter, sort } = queries.history(conversationId(s, r));
    const newest = await this.messages.find(filter).sort(sort!).limit(1).next();
    if (newest) {
      await this.conversationsOf.updateMany(rows, { $set: { lastMessageId: newest._id } });
    } else {
      await this.conversationsOf.deleteMany(rows);
    }
  }

  conversations(userId: string, query: PageQuery): Promise<ConversationSummary[]> {
    return storeCall(async () => {
      const { filter, sort } = queries.conversations(userId);
      const rows = await this.conversationsOf.find(filter)
        .sort(sort!).skip(query.skip).limit(query.limit).toArray();
      const byId = new Map<string, MessageDoc>();
      for (const ids of inChunks(rows.map((row) => row.lastMessageId))) {
        const lasts = await this.messages.find(queries.lastMessages(ids).filter).toArray();
        for (const doc of lasts) byId.set(doc._id.toHexString(), doc);
      }
      return rows.map((row) => {
        const last = byId.get(row.lastMessageId.toHexString());
        return {
          partnerId: row.partnerId,
          lastMessage: last && !last.deletedAt ? toMessage(last) : null,
          unreadCount: Math.max(0, row.unreadCount),
        };
      });
    });
  }

  partnersOf(userId: string): Promise<string[]> {
    return storeCall(async () => {
      const rows = await this.conversationsOf
        .find(queries.conversations(userId).filter, { projection: { partnerId: 1 } }).toArray();
      return rows.map((row) => row.partnerId);
    });
  }
}
