/**
 * The chat store of the MongoDB backend (mongo_backend.ts opens the client
 * and hands this its database).
 *
 * Collections:
 *   users          { _id: userId, username, email, isOnline, lastSeen, createdAt, updatedAt }
 *   users          (or the host app's collection, MONGODB_USERS_COLLECTION: host_users.ts)
 *   messages       { _id: ObjectId, conversationId, participants, senderId, receiverId, text,
 *                    file, clientMessageId?, createdAt, updatedAt, deliveredAt, readAt }
 *                  A deleted message that had a client id becomes a tombstone
 *                  { _id, senderId, clientMessageId, deletedAt } so that the unique
 *                  index keeps refusing its id (a resend recreates nothing).
 *                  Also, when there are any: editedAt, reactions [{emoji, userIds}],
 *                  replyTo (the quote) and replyToId (its id, dropped once the quoted
 *                  message is deleted), hiddenFor [userId] (delete for me), searchKeys
 *                  (ferretdb.ts, item 6).
 *   conversations  { _id: [owner, partner] as JSON, ownerId, partnerId, lastMessageId,
 *                    unreadCount }, one row per user and partner, updated on every write.
 *   blocks         { _id: [blocker, blocked] as JSON, blockerId, blockedId, blockedAt }
 *   mutes          { _id: [user, partner] as JSON, userId, partnerId, until }
 *   reports        { _id: ObjectId, messageId, reporterId, reportedUserId, reason, note,
 *                    text, file, createdAt }, one per reporter and message.
 * `senderId` and `receiverId` are ObjectIds with MONGODB_ID_TYPE=objectId when
 * they are ids written out (stored_ids.ts); `participants` and every other
 * user id stay strings.
 * Indexes are created idempotently by `ensureIndexes` (see indexes.ts). What is
 * here only for FerretDB (queues, upsert retries, bounded commands) comes from
 * ferretdb.ts.
 */
import { type Collection, type Db, MongoServerError, ObjectId } from "mongodb";
import { AppError } from "../../errors.ts";
import type {
  ChatMessage,
  FileAttachment,
  QuotedMessage,
  Reaction,
  ReplyTo,
} from "../../protocol/types.ts";
import { conversationKey } from "../conversation_key.ts";
import { withReaction } from "../../protocol/reactions.ts";
import {
  type BlockEntry,
  type BlockRepository,
  type ChatStore,
  type ConversationSummary,
  type DeliveryReceipt,
  type EditOptions,
  type EditResult,
  type ForwardPage,
  type HideResult,
  type HistoryQuery,
  type InsertResult,
  MAX_REACTION_EMOJI,
  type MessageRepository,
  type MuteEntry,
  type MuteRepository,
  type NewMessage,
  type NewReport,
  type PageQuery,
  type ReactionResult,
  type Report,
  type ReportRepository,
  type ReportResult,
  type SearchQuery,
  searchWords,
  type User,
  type UserProfile,
  type UserRepository,
} from "../repository.ts";
import {
  inChunks,
  inRounds,
  KeyedSerialQueue,
  searchKey,
  searchKeys,
  SerialQueue,
  upsertRetrying,
} from "./ferretdb.ts";
import { InsertBatch } from "./insert_batch.ts";
import { conversationOf, groupMembership, MongoGroupRepository } from "./mongo_groups.ts";
import { MongoHostUserRepository } from "./host_users.ts";
import { idText, type IdType, type StoredId, type UserIdCodec, userIdCodec } from "./stored_ids.ts";
import { LIVE, queries } from "./queries.ts";
import { DUPLICATE_KEY, storeCall } from "./store_errors.ts";

export interface MessageDoc {
  _id: ObjectId;
  conversationId?: string;
  participants?: string[];
  senderId: StoredId;
  receiverId?: StoredId;
  text?: string | null;
  file?: FileAttachment | null;
  clientMessageId?: string;
  createdAt?: Date;
  updatedAt?: Date;
  deliveredAt?: Date | null;
  readAt?: Date | null;
  deletedAt?: Date;
  editedAt?: Date | null;
  reactions?: Reaction[];
  replyTo?: ReplyTo;
  replyToId?: string;
  /** A group message's group (mongo_groups.ts). */
  groupId?: string;
  hiddenFor?: string[];
  searchKeys?: string[];
}

export interface BlockDoc {
  _id: string;
  blockerId: string;
  blockedId: string;
  blockedAt: Date;
}

export interface MuteDoc {
  _id: string;
  userId: string;
  partnerId: string;
  until: Date | null;
}

export interface ReportDoc extends Omit<Report, "_id" | "createdAt"> {
  _id: ObjectId;
  createdAt: Date;
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

/** How the store meets the host app's users (config.ts, MongoUserOptions). */
export interface MongoChatOptions {
  /** Users are the host's documents in this collection (host_users.ts). */
  hostUsers?: { collection: string; nameField: string };
  /** How messages store `senderId` and `receiverId`; default `string`. */
  idType?: IdType;
}

/** The chat store on `db`, whose indexes `ensureIndexes` has created. */
export function mongoChatStore(db: Db, options: MongoChatOptions = {}): MongoChatStore {
  const writes = new WritesUnderWay();
  const messages = new MongoMessageRepository(db, writes, userIdCodec(options.idType ?? "string"));
  return {
    kind: "mongo",
    users: options.hostUsers
      ? new MongoHostUserRepository(db, options.hostUsers, writes)
      : new MongoUserRepository(db.collection<UserDoc>("users"), writes),
    messages,
    blocks: new MongoBlockRepository(db.collection<BlockDoc>("blocks"), writes),
    reports: new MongoReportRepository(db, messages, writes),
    mutes: new MongoMuteRepository(db.collection<MuteDoc>("mutes"), writes),
    groups: new MongoGroupRepository(db, {
      messages,
      toMessage,
      track: (write) => writes.track(write),
    }),
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

/** Reads and conditional writes of one message's reactions before giving up (other processes). */
const MAX_REACTION_ATTEMPTS = 10;

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

/** A forward cursor: an ObjectId, or VALIDATION_ERROR. */
function afterId(after: string | undefined): ObjectId | undefined {
  if (after === undefined) return undefined;
  const id = toObjectId(after);
  if (!id) throw new AppError("VALIDATION_ERROR", "after: not an id of this store");
  return id;
}

function toMessage(doc: MessageDoc): ChatMessage {
  return {
    _id: doc._id.toHexString(),
    senderId: idText(doc.senderId),
    receiverId: (doc.receiverId == null ? doc.receiverId : idText(doc.receiverId)) as string,
    groupId: doc.groupId ?? null,
    text: doc.text ?? null,
    file: doc.file ?? null,
    clientMessageId: doc.clientMessageId ?? null,
    createdAt: doc.createdAt!.toISOString(),
    updatedAt: doc.updatedAt!.toISOString(),
    deliveredAt: doc.deliveredAt ? doc.deliveredAt.toISOString() : null,
    readAt: doc.readAt ? doc.readAt.toISOString() : null,
    editedAt: doc.editedAt ? doc.editedAt.toISOString() : null,
    reactions: doc.reactions ?? [],
    replyTo: doc.replyTo ?? null,
  };
}

/** The participants that still see the message (not deleted for themselves). */
function seers(doc: MessageDoc): string[] {
  return (doc.participants ?? []).filter((id) => !doc.hiddenFor?.includes(id));
}

function toReport(doc: ReportDoc): Report {
  return { ...doc, _id: doc._id.toHexString(), createdAt: doc.createdAt.toISOString() };
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
            // Going offline never creates the user (an erased user's late offline stays gone).
            { upsert: isOnline },
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
  /** Also read by the report repository (a report copies the message). */
  readonly messages: Collection<MessageDoc>;
  private readonly conversationsOf: Collection<ConversationDoc>;
  private readonly mutes: Collection<MuteDoc>;
  /** The groups collection (mongo_groups.ts), for the export's messages sent to groups. */
  private readonly groups: Collection<{ _id: ObjectId; memberIds: string[] }>;
  /** Members of a group message's group may react to it and hide it too. */
  private readonly inGroup: ReturnType<typeof groupMembership>;

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

  constructor(
    db: Db,
    private readonly writes: WritesUnderWay,
    private readonly ids: UserIdCodec,
  ) {
    this.messages = db.collection<MessageDoc>("messages");
    this.conversationsOf = db.collection<ConversationDoc>("conversations");
    this.mutes = db.collection<MuteDoc>("mutes");
    this.groups = db.collection<{ _id: ObjectId; memberIds: string[] }>("groups");
    this.inGroup = groupMembership(db);
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
        senderId: this.ids.toStored(s),
        receiverId: this.ids.toStored(r),
        text: input.text,
        file: input.file,
        createdAt: now,
        updatedAt: now,
        deliveredAt: null,
        readAt: null,
      };
      // Absent, not null: the unique index then ignores messages without one.
      if (input.clientMessageId !== null) doc.clientMessageId = input.clientMessageId;
      const keys = searchKeys(input.text, [s, r]);
      if (keys.length > 0) doc.searchKeys = keys;
      if (input.replyTo) {
        // A resend answers its original even if the quoted message is gone since.
        if (input.clientMessageId !== null) {
          const original = await this.messages.findOne(
            queries.byClientId(this.ids.toStored(s), input.clientMessageId).filter,
          );
          if (original) return await this.duplicateOf(s, input.clientMessageId);
        }
        await this.checkQuoted(input.replyTo, doc.conversationId!);
        doc.replyTo = input.replyTo;
        doc.replyToId = input.replyTo._id;
      }
      // Stored, then both conversation rows updated, in a batch with concurrent sends.
      if (await this.inserts.submit(doc) === "inserted") {
        return { message: toMessage(doc), duplicate: false };
      }
      if (input.clientMessageId === null) throw new Error("duplicate key without a client id");
      return await this.duplicateOf(s, input.clientMessageId);
    }));
  }

  private async checkQuoted(quoted: QuotedMessage, conversationId: string): Promise<void> {
    const _id = toObjectId(quoted._id);
    const found = _id && await this.messages.findOne({ _id, conversationId, ...LIVE });
    if (!found) {
      throw new AppError("VALIDATION_ERROR", "replyTo: no such message in this conversation");
    }
  }

  private async duplicateOf(senderId: string, clientMessageId: string): Promise<InsertResult> {
    const original = await this.messages.findOne(
      queries.byClientId(this.ids.toStored(senderId), clientMessageId).filter,
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
      const { filter, sort } = queries.history(
        conversationId(userA, userB),
        before,
        query.viewerId,
      );
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
      // Hiding it for the receiver took it off their count already.
      const { senderId } = toMessage(doc);
      // Typed null for group messages; markRead is for 1:1 ones (ChatService refuses the others).
      const receiverId = toMessage(doc).receiverId!;
      if (!doc.hiddenFor?.includes(receiverId)) {
        await this.rowWrites.run(() => this.takeOffUnread(receiverId, senderId));
      }
      return toMessage(doc);
    }));
  }

  markDelivered(messageId: string, deliveredAt: string): Promise<DeliveryReceipt | null> {
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
      if (!doc) return null;
      const receiverId = doc.receiverId == null ? null : idText(doc.receiverId);
      return { senderId: idText(doc.senderId), receiverId, deliveredAt };
    }));
  }

  undelivered(
    receiverId: string,
    query: { limit: number; after?: string },
  ): Promise<ChatMessage[]> {
    return storeCall(async () => {
      const after = query.after === undefined ? undefined : toObjectId(query.after) ?? undefined;
      const { filter, sort } = queries.undelivered(this.ids.toStored(receiverId), after);
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
      await this.rowWrites.run(() => this.afterDelete(removed));
      await this.unquote(messageId);
      return true;
    }));
  }

  /** The conversation rows after a delete; runs as a row-write job. */
  private async afterDelete(removed: MessageDoc): Promise<void> {
    const { senderId: s } = toMessage(removed);
    // Typed null for group messages (ChatMessage.receiverId); their rows are computed when read.
    const r = toMessage(removed).receiverId!;
    if (!removed.readAt && !removed.hiddenFor?.includes(r)) await this.takeOffUnread(r, s);
    await this.moveLastMessage(s, r, removed._id);
    await this.moveLastMessage(r, s, removed._id);
  }

  /** Row write: one fewer unread message for `owner` from `partner`. */
  private async takeOffUnread(owner: string, partner: string): Promise<void> {
    await this.conversationsOf.updateOne(
      { _id: pairId(owner, partner), unreadCount: { $gt: 0 } },
      { $inc: { unreadCount: -1 } },
    );
  }

  /**
   * Row write: points the owner's row at their newest message they have not
   * hidden, if it points at `formerLast` (none left: the row goes).
   */
  private async moveLastMessage(owner: string, partner: string, formerLast: ObjectId) {
    const row = { _id: pairId(owner, partner), lastMessageId: formerLast };
    const { filter, sort } = queries.history(conversationId(owner, partner), undefined, owner);
    const newest = await this.messages.find(filter).sort(sort!).limit(1).next();
    if (newest) {
      await this.conversationsOf.updateOne(row, { $set: { lastMessageId: newest._id } });
    } else {
      await this.conversationsOf.deleteOne(row);
    }
  }

  /** The replies quoting a deleted message keep its id only. */
  private async unquote(messageId: string): Promise<void> {
    const { filter } = queries.quoting(messageId);
    await inRounds(this.messages, filter, async (ids) => {
      const changed = await Promise.all(
        ids.map((_id) =>
          this.messageWrites.run(_id.toHexString(), async () => {
            const result = await this.messages.updateOne({ _id, ...filter }, {
              $set: { replyTo: { _id: messageId, deleted: true } },
              $unset: { replyToId: "" },
            });
            return result.modifiedCount;
          })
        ),
      );
      return changed.reduce((sum, n) => sum + n, 0);
    });
  }

  editMessage(
    messageId: string,
    senderId: string,
    text: string,
    editedAt: string,
    options: EditOptions = {},
  ): Promise<EditResult> {
    return this.writes.track(storeCall(async () => {
      const _id = toObjectId(messageId);
      if (!_id) return { ok: false, reason: "not_found" };
      return await this.messageWrites.run(_id.toHexString(), async (): Promise<EditResult> => {
        const doc = await this.messages.findOne(queries.messageById(_id).filter);
        if (!doc) return { ok: false, reason: "not_found" };
        if (idText(doc.senderId) !== senderId) return { ok: false, reason: "not_sender" };
        if (options.createdAfter !== undefined && doc.createdAt! < new Date(options.createdAfter)) {
          return { ok: false, reason: "too_late" };
        }
        const at = new Date(editedAt);
        const edited = await this.messages.findOneAndUpdate({ _id, ...LIVE }, {
          $set: { text, editedAt: at, updatedAt: at, searchKeys: searchKeys(text, seers(doc)) },
        }, { returnDocument: "after" });
        return edited
          ? { ok: true, message: toMessage(edited) }
          : { ok: false, reason: "not_found" };
      });
    }));
  }

  addReaction(messageId: string, userId: string, emoji: string): Promise<ReactionResult> {
    return this.react(messageId, userId, emoji, true);
  }

  removeReaction(messageId: string, userId: string, emoji: string): Promise<ReactionResult> {
    return this.react(messageId, userId, emoji, false);
  }

  /**
   * Reads the list, writes the changed list back if it is still the one read
   * (another process may have changed it: read again and retry).
   */
  private react(
    messageId: string,
    userId: string,
    emoji: string,
    add: boolean,
  ): Promise<ReactionResult> {
    return this.writes.track(storeCall(async () => {
      const _id = toObjectId(messageId);
      if (!_id) return { ok: false, reason: "not_found" };
      return await this.messageWrites.run(_id.toHexString(), async (): Promise<ReactionResult> => {
        for (let attempt = 0; attempt < MAX_REACTION_ATTEMPTS; attempt++) {
          const doc = await this.messages.findOne(queries.messageById(_id).filter);
          if (!doc) return { ok: false, reason: "not_found" };
          if (!doc.participants?.includes(userId) && !(await this.inGroup(doc, userId))) {
            return { ok: false, reason: "not_participant" };
          }
          const next = withReaction(doc.reactions ?? [], userId, emoji, add);
          if (next === null) return { ok: true, changed: false, message: toMessage(doc) };
          if (next.length > MAX_REACTION_EMOJI) return { ok: false, reason: "too_many_emoji" };
          const unchanged = doc.reactions === undefined
            ? { reactions: { $exists: false } }
            : { reactions: doc.reactions };
          const result = await this.messages.updateOne(
            { _id, ...LIVE, ...unchanged },
            { $set: { reactions: next } },
          );
          if (result.matchedCount === 1) {
            return { ok: true, changed: true, message: toMessage({ ...doc, reactions: next }) };
          }
        }
        throw new Error(
          `reactions of ${messageId} kept changing under ${MAX_REACTION_ATTEMPTS} tries`,
        );
      });
    }));
  }

  search(userId: string, q: string, query: SearchQuery): Promise<ChatMessage[]> {
    return storeCall(async () => {
      const words = searchWords(q);
      if (words.length === 0) return [];
      const before = query.before === undefined ? undefined : toObjectId(query.before);
      if (before === null) throw new AppError("VALIDATION_ERROR", "before: not a message id");
      const conversation = query.with === undefined
        ? undefined
        : conversationId(userId, query.with);
      const keys = words.map((word) => searchKey(userId, word));
      const { filter, sort } = queries.search(keys, conversation, before);
      const docs = await this.messages.find(filter).sort(sort!).limit(query.limit).toArray();
      return docs.map(toMessage);
    });
  }

  hideForUser(messageId: string, userId: string): Promise<HideResult> {
    return this.writes.track(storeCall(async () => {
      const _id = toObjectId(messageId);
      if (!_id) return { ok: false, reason: "not_found" };
      const outcome = await this.messageWrites.run(_id.toHexString(), async () => {
        const doc = await this.messages.findOne(queries.messageById(_id).filter);
        if (!doc) return { ok: false, reason: "not_found" } as const;
        if (!doc.participants?.includes(userId) && !(await this.inGroup(doc, userId))) {
          return { ok: false, reason: "not_participant" } as const;
        }
        if (doc.hiddenFor?.includes(userId)) return { ok: true, changed: false, doc } as const;
        const keys = searchKeys(doc.text, seers(doc).filter((id) => id !== userId));
        const hidden = await this.messages.findOneAndUpdate(
          { _id, ...LIVE, hiddenFor: { $ne: userId } },
          { $addToSet: { hiddenFor: userId }, $set: { searchKeys: keys } },
          { returnDocument: "after" },
        );
        if (!hidden) return { ok: false, reason: "not_found" } as const;
        return { ok: true, changed: true, doc: hidden } as const;
      });
      if (!outcome.ok) return outcome;
      const { doc, changed } = outcome;
      if (changed) {
        const { senderId } = toMessage(doc);
        // Typed null for group messages (ChatMessage.receiverId); their rows are computed when read.
        const receiverId = toMessage(doc).receiverId!;
        const partner = userId === senderId ? receiverId : senderId;
        await this.rowWrites.run(async () => {
          if (userId === receiverId && !doc.readAt) await this.takeOffUnread(userId, partner);
          await this.moveLastMessage(userId, partner, _id);
        });
      }
      return { ok: true, changed, message: toMessage(doc) };
    }));
  }

  /** Their 1:1 messages, and the ones they sent to their groups, merged by id. */
  allForUser(userId: string, query: ForwardPage): Promise<ChatMessage[]> {
    return storeCall(async () => {
      const after = afterId(query.after);
      const direct = queries.allForUser(userId, after);
      const groups = await this.groups.find({ memberIds: userId })
        .project<{ _id: ObjectId }>({ _id: 1 }).toArray();
      const sent = queries.sentToGroups(
        groups.map((group) => conversationOf(group._id.toHexString())),
        userId,
        after,
      );
      const pages = await Promise.all(
        [direct, sent].map(({ filter, sort }) =>
          this.messages.find(filter).sort(sort!).limit(query.limit).toArray()
        ),
      );
      return pages.flat().sort((x, y) => x._id.toHexString() < y._id.toHexString() ? -1 : 1)
        .slice(0, query.limit).map(toMessage);
    });
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
      const mutes = new Map<string, MuteDoc>();
      for (const ids of inChunks(rows.map((row) => row._id))) {
        for (const mute of await this.mutes.find({ _id: { $in: ids } }).toArray()) {
          mutes.set(mute._id, mute);
        }
      }
      const now = new Date();
      return rows.map((row) => {
        const last = byId.get(row.lastMessageId.toHexString());
        const mute = mutes.get(row._id);
        const muted = mute !== undefined && mutesAt(mute, now);
        return {
          partnerId: row.partnerId,
          lastMessage: last && !last.deletedAt ? toMessage(last) : null,
          unreadCount: Math.max(0, row.unreadCount),
          muted,
          mutedUntil: muted && mute.until ? mute.until.toISOString() : null,
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

/** A mute with no end, or one that ends after `at`. */
function mutesAt(mute: MuteDoc, at: Date): boolean {
  return mute.until === null || mute.until > at;
}

function isDuplicateKey(err: unknown): boolean {
  return err instanceof MongoServerError && err.code === DUPLICATE_KEY;
}

class MongoBlockRepository implements BlockRepository {
  constructor(
    private readonly blocks: Collection<BlockDoc>,
    private readonly writes: WritesUnderWay,
  ) {}

  block(blockerId: string, blockedId: string, blockedAt: string): Promise<boolean> {
    return this.writes.track(storeCall(async () => {
      try {
        await this.blocks.insertOne({
          _id: pairId(blockerId, blockedId),
          blockerId,
          blockedId,
          blockedAt: new Date(blockedAt),
        });
        return true;
      } catch (err) {
        if (isDuplicateKey(err)) return false;
        throw err;
      }
    }));
  }

  unblock(blockerId: string, blockedId: string): Promise<boolean> {
    return this.writes.track(storeCall(async () => {
      const result = await this.blocks.deleteOne({ _id: pairId(blockerId, blockedId) });
      return result.deletedCount > 0;
    }));
  }

  listBlocked(blockerId: string): Promise<BlockEntry[]> {
    return storeCall(async () => {
      const { filter, sort } = queries.blockedBy(blockerId);
      const docs = await this.blocks.find(filter).sort(sort!).toArray();
      return docs.map((doc) => ({ userId: doc.blockedId, blockedAt: doc.blockedAt.toISOString() }));
    });
  }

  isBlocked(userA: string, userB: string): Promise<boolean> {
    return storeCall(async () => {
      const ids = [pairId(userA, userB), pairId(userB, userA)];
      return await this.blocks.findOne({ _id: { $in: ids } }) !== null;
    });
  }

  blockedEitherWay(userId: string): Promise<string[]> {
    return storeCall(async () => {
      const blocked = await this.blocks.find(queries.blockedBy(userId).filter).toArray();
      const blockers = await this.blocks.find(queries.blockersOf(userId).filter).toArray();
      return [
        ...new Set([...blocked.map((b) => b.blockedId), ...blockers.map((b) => b.blockerId)]),
      ];
    });
  }
}

class MongoMuteRepository implements MuteRepository {
  constructor(
    private readonly mutes: Collection<MuteDoc>,
    private readonly writes: WritesUnderWay,
  ) {}

  mute(userId: string, partnerId: string, until: string | null): Promise<void> {
    return this.writes.track(storeCall(async () => {
      const _id = pairId(userId, partnerId);
      await upsertRetrying(() =>
        this.mutes.updateOne(
          { _id },
          { $set: { userId, partnerId, until: until === null ? null : new Date(until) } },
          { upsert: true },
        )
      );
    }));
  }

  unmute(userId: string, partnerId: string): Promise<boolean> {
    return this.writes.track(storeCall(async () => {
      const result = await this.mutes.deleteOne({ _id: pairId(userId, partnerId) });
      return result.deletedCount > 0;
    }));
  }

  listForUser(userId: string): Promise<MuteEntry[]> {
    return storeCall(async () => {
      const docs = await this.mutes.find({ userId }).sort({ partnerId: 1 }).toArray();
      return docs.map((doc) => ({
        partnerId: doc.partnerId,
        until: doc.until?.toISOString() ?? null,
      }));
    });
  }

  isMuted(userId: string, partnerId: string, at: string): Promise<boolean> {
    return storeCall(async () => {
      const mute = await this.mutes.findOne({ _id: pairId(userId, partnerId) });
      return mute !== null && mutesAt(mute, new Date(at));
    });
  }
}

class MongoReportRepository implements ReportRepository {
  private readonly reports: Collection<ReportDoc>;

  constructor(
    db: Db,
    private readonly messages: MongoMessageRepository,
    private readonly writes: WritesUnderWay,
  ) {
    this.reports = db.collection<ReportDoc>("reports");
  }

  report(input: NewReport): Promise<ReportResult> {
    return this.writes.track(storeCall(async (): Promise<ReportResult> => {
      const earlier = await this.earlier(input);
      if (earlier) return earlier;
      const _id = toObjectId(input.messageId);
      const message = _id && await this.messages.messages.findOne(queries.messageById(_id).filter);
      if (!message) return { ok: false, reason: "not_found" };
      const { senderId, receiverId } = toMessage(message);
      if (receiverId !== input.reporterId) return { ok: false, reason: "not_receiver" };
      // The content as stored (sealed, with encryption at rest).
      const doc: ReportDoc = {
        _id: new ObjectId(),
        messageId: input.messageId,
        reporterId: input.reporterId,
        reportedUserId: senderId,
        reason: input.reason,
        note: input.note,
        text: message.text ?? null,
        file: message.file ?? null,
        createdAt: new Date(input.createdAt),
      };
      try {
        await this.reports.insertOne(doc);
      } catch (err) {
        // A concurrent repeat won: answer its report.
        if (isDuplicateKey(err)) return (await this.earlier(input)) ?? Promise.reject(err);
        throw err;
      }
      return { ok: true, created: true, report: toReport(doc) };
    }));
  }

  private async earlier(input: NewReport): Promise<ReportResult | null> {
    const doc = await this.reports.findOne(
      queries.reportOf(input.reporterId, input.messageId).filter,
    );
    return doc ? { ok: true, created: false, report: toReport(doc) } : null;
  }

  list(query: { limit: number; before?: string }): Promise<Report[]> {
    return storeCall(async () => {
      const before = query.before === undefined ? undefined : toObjectId(query.before);
      if (before === null) throw new AppError("VALIDATION_ERROR", "before: not a report id");
      const { filter, sort } = queries.reportsNewestFirst(before);
      const docs = await this.reports.find(filter).sort(sort!).limit(query.limit).toArray();
      return docs.map(toReport);
    });
  }

  listForUser(userId: string, query: ForwardPage): Promise<Report[]> {
    return storeCall(async () => {
      const { filter, sort } = queries.reportsOfUser(userId, afterId(query.after));
      const docs = await this.reports.find(filter).sort(sort!).limit(query.limit).toArray();
      return docs.map(toReport);
    });
  }
}
