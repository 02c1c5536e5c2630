/**
 * Groups on MongoDB (the contract: ../group_store.ts).
 *
 * Collections:
 *   groups         { _id: ObjectId, name, ownerId, memberIds (join order), createdAt,
 *                    updatedAt, version }: memberIds decides who is a member.
 *   group_members  { _id: [groupId, userId] as JSON, groupId, userId, readMessageId,
 *                    readAt, deliveredMessageId }: a member's pointers (ObjectIds or null).
 *   group_mutes    { _id: [groupId, userId] as JSON, until }
 *   messages       a group message as a 1:1 one, with groupId, receiverId null,
 *                  conversationId `group:<groupId>` (the history index serves it) and
 *                  participants [groupToken]: its search keys are the group's, one set
 *                  whatever the member count (ferretdb.ts, item 6).
 *
 * A membership change reads the group and writes it back on the condition that
 * its `version` is still the one read (else reads again): atomic across nodes
 * on MongoDB, the next owner chosen from the memberIds it replaces. On FerretDB
 * a conditional update is a read and a write too, so this process's changes of
 * one group also run one at a time (ferretdb.ts, item 1). A member's pointer
 * row is written before they enter memberIds and removed after they leave it,
 * so that every member has one; a stray row (a crash in between) is ignored.
 *
 * A send is one insert: nothing is written per member, nor on the group. The
 * list, unread counts and catch-up are read per group over the history index.
 */
import { type Collection, type Db, MongoServerError, ObjectId } from "mongodb";
import { AppError } from "../../errors.ts";
import type { ChatMessage, QuotedMessage } from "../../protocol/types.ts";
import {
  type AddMembersResult,
  type Group,
  type GroupConversationSummary,
  type GroupRead,
  type GroupRepository,
  initialMembers,
  mergeConversations,
  type NewGroup,
  type NewGroupMessage,
  nextOwner,
} from "../group_store.ts";
import {
  type HistoryQuery,
  type InsertResult,
  type MessageRepository,
  type PageQuery,
  searchWords,
} from "../repository.ts";
import {
  inChunks,
  type IndexSpec,
  KeyedSerialQueue,
  searchKey,
  searchKeys,
  upsertRetrying,
} from "./ferretdb.ts";
import type { MessageDoc } from "./mongo_store.ts";
import { LIVE, queries, visibleTo } from "./queries.ts";
import { DUPLICATE_KEY, storeCall } from "./store_errors.ts";

interface GroupDoc {
  _id: ObjectId;
  name: string;
  ownerId: string;
  memberIds: string[];
  createdAt: Date;
  updatedAt: Date;
  version: number;
}

interface MemberDoc {
  _id: string;
  groupId: string;
  userId: string;
  readMessageId: ObjectId | null;
  readAt: Date | null;
  deliveredMessageId: ObjectId | null;
}

interface MuteDoc {
  _id: string;
  until: Date | null;
}

/** A group message as stored: no receiver. */
type GroupMessageDoc = Omit<MessageDoc, "receiverId"> & { receiverId: null; groupId: string };

/** What the group repository needs of the chat store it sits in (mongo_store.ts). */
export interface GroupStoreParts {
  messages: MessageRepository;
  toMessage: (doc: MessageDoc) => ChatMessage;
  /** The chat store's writes under way (its close waits for them). */
  track<T>(write: Promise<T>): Promise<T>;
}

/** The indexes of these queries, created with the rest (indexes.ts). */
export const GROUP_INDEXES: IndexSpec[] = [
  // groupsOf and the conversation list: a user's groups
  { collection: "groups", key: { memberIds: 1, updatedAt: -1 }, name: "groups_of" },
  // reads: a group's members whose read pointer is at or past a message
  { collection: "group_members", key: { groupId: 1, readMessageId: 1 }, name: "group_reads" },
];

/** A group's messages' `conversationId` (also read by mongo_store.ts and mongo_erasure.ts). */
export const conversationOf = (groupId: string) => `group:${groupId}`;
/** The one participant of a group message: its search keys are the group's. */
const groupToken = (groupId: string) => `\u0000group:${groupId}`;
const pairId = (groupId: string, userId: string) => JSON.stringify([groupId, userId]);

function toObjectId(id: string): ObjectId | null {
  return /^[0-9a-f]{24}$/i.test(id) ? new ObjectId(id) : null;
}

function toGroup(doc: GroupDoc): Group {
  return {
    _id: doc._id.toHexString(),
    name: doc.name,
    ownerId: doc.ownerId,
    memberIds: doc.memberIds,
    createdAt: doc.createdAt.toISOString(),
    updatedAt: doc.updatedAt.toISOString(),
  };
}

/** Ids as hex text: the same order as the ObjectIds. */
const hex = (id: ObjectId | null | undefined) => id?.toHexString() ?? "";

/** The group's messages after `after` (all without it) that the member did not send and can see. */
const fromOthersAfter = (groupId: string, userId: string, after: ObjectId | null | undefined) => ({
  conversationId: conversationOf(groupId),
  ...(after ? { _id: { $gt: after } } : {}),
  senderId: { $ne: userId },
  ...visibleTo(userId),
});

const byId = (x: ChatMessage, y: ChatMessage) => (x._id < y._id ? -1 : x._id > y._id ? 1 : 0);

export class MongoGroupRepository implements GroupRepository {
  private readonly groups: Collection<GroupDoc>;
  private readonly members: Collection<MemberDoc>;
  private readonly mutes: Collection<MuteDoc>;
  private readonly messageDocs: Collection<GroupMessageDoc>;
  /** This process's changes of one group, and of one member's pointers, in turn (ferretdb.ts, item 1). */
  private readonly groupWrites = new KeyedSerialQueue();
  private readonly pointerWrites = new KeyedSerialQueue();

  constructor(db: Db, private readonly parts: GroupStoreParts) {
    this.groups = db.collection<GroupDoc>("groups");
    this.members = db.collection<MemberDoc>("group_members");
    this.mutes = db.collection<MuteDoc>("group_mutes");
    this.messageDocs = db.collection<GroupMessageDoc>("messages");
  }

  private toMessage(doc: GroupMessageDoc): ChatMessage {
    return this.parts.toMessage(doc as unknown as MessageDoc);
  }

  private write<T>(work: () => Promise<T>): Promise<T> {
    return this.parts.track(storeCall(work));
  }

  private async groupDoc(groupId: string): Promise<GroupDoc | null> {
    const _id = toObjectId(groupId);
    return _id && await this.groups.findOne({ _id });
  }

  /** The newest message of the group, the pointers of those who join now. */
  private async newestId(groupId: string): Promise<ObjectId | null> {
    const { filter, sort } = queries.history(conversationOf(groupId));
    const newest = await this.messageDocs.find(filter).sort(sort!).limit(1).next();
    return newest?._id ?? null;
  }

  /** Pointer rows for members about to join, both pointers at the group's newest message. */
  private async addPointerRows(groupId: string, userIds: readonly string[]): Promise<void> {
    const newest = await this.newestId(groupId);
    for (const chunk of inChunks(userIds)) {
      await Promise.all(
        chunk.map((userId) =>
          this.members.replaceOne({ _id: pairId(groupId, userId) }, {
            groupId,
            userId,
            readMessageId: newest,
            readAt: null,
            deliveredMessageId: newest,
          }, { upsert: true })
        ),
      );
    }
  }

  /**
   * Applies `change` to the group as read, written back only if nobody changed
   * it meanwhile (its version), else read again; null when there is no group.
   */
  private changeGroup<T>(
    groupId: string,
    change: (doc: GroupDoc) => Promise<{ set?: Partial<GroupDoc>; result: T }>,
  ): Promise<T | null> {
    const _id = toObjectId(groupId);
    if (!_id) return Promise.resolve(null);
    return this.groupWrites.run(groupId, async () => {
      for (;;) {
        const doc = await this.groups.findOne({ _id });
        if (!doc) return null;
        const { set, result } = await change(doc);
        if (!set) return result;
        const written = await this.groups.updateOne(
          { _id, version: doc.version },
          { $set: { ...set, version: doc.version + 1 } },
        );
        if (written.matchedCount === 1) return result;
      }
    });
  }

  createGroup(input: NewGroup): Promise<Group> {
    return this.write(async () => {
      const at = new Date(input.createdAt);
      const doc: GroupDoc = {
        _id: new ObjectId(),
        name: input.name,
        ownerId: input.ownerId,
        memberIds: initialMembers(input),
        createdAt: at,
        updatedAt: at,
        version: 0,
      };
      await this.addPointerRows(doc._id.toHexString(), doc.memberIds);
      await this.groups.insertOne(doc);
      return toGroup(doc);
    });
  }

  get(groupId: string): Promise<Group | null> {
    return storeCall(async () => {
      const doc = await this.groupDoc(groupId);
      return doc && toGroup(doc);
    });
  }

  async addMembers(
    groupId: string,
    userIds: readonly string[],
    at: string,
    options: { maxMembers?: number } = {},
  ) {
    const outcome = await this.write(() =>
      this.changeGroup<AddMembersResult>(groupId, async (doc) => {
        const added = [...new Set(userIds)].filter((id) => !doc.memberIds.includes(id));
        const { maxMembers } = options;
        if (maxMembers !== undefined && doc.memberIds.length + added.length > maxMembers) {
          return { result: { ok: false, reason: "too_many_members" } };
        }
        if (added.length === 0) {
          return { result: { ok: true, group: toGroup(doc), added } as const };
        }
        await this.addPointerRows(groupId, added);
        const set = { memberIds: [...doc.memberIds, ...added], updatedAt: new Date(at) };
        return { set, result: { ok: true, group: toGroup({ ...doc, ...set }), added } };
      })
    );
    return outcome ?? { ok: false, reason: "not_found" };
  }

  removeMember(groupId: string, userId: string, at: string) {
    return this.write(async () => {
      const outcome = await this.changeGroup(groupId, (doc) => {
        if (!doc.memberIds.includes(userId)) {
          return Promise.resolve({ result: { group: toGroup(doc), removed: false } });
        }
        const set = {
          memberIds: doc.memberIds.filter((id) => id !== userId),
          ownerId: nextOwner(toGroup(doc), userId),
          updatedAt: new Date(at),
        };
        return Promise.resolve({
          set,
          result: { group: toGroup({ ...doc, ...set }), removed: true },
        });
      });
      if (outcome?.removed) {
        await this.members.deleteOne({ _id: pairId(groupId, userId) });
        await this.mutes.deleteOne({ _id: pairId(groupId, userId) });
      }
      return outcome;
    });
  }

  rename(groupId: string, name: string, at: string): Promise<Group | null> {
    return this.write(() =>
      this.changeGroup(groupId, (doc) => {
        const set = { name, updatedAt: new Date(at) };
        return Promise.resolve({ set, result: toGroup({ ...doc, ...set }) });
      })
    );
  }

  groupsOf(userId: string): Promise<Group[]> {
    return storeCall(async () => {
      const docs = await this.groups.find({ memberIds: userId }).sort({ updatedAt: -1, _id: -1 })
        .toArray();
      return docs.map(toGroup);
    });
  }

  isMember(groupId: string, userId: string): Promise<boolean> {
    return storeCall(async () => {
      const _id = toObjectId(groupId);
      return _id !== null && await this.groups.findOne({ _id, memberIds: userId }) !== null;
    });
  }

  /** Membership is read just before the insert: a send racing a removal may still land. */
  insertMessage(input: NewGroupMessage): Promise<InsertResult> {
    return this.write(async () => {
      const { groupId, senderId, clientMessageId } = input;
      if (clientMessageId !== null) {
        const repeat = await this.repeatOf(senderId, clientMessageId);
        if (repeat) return repeat;
      }
      const group = await this.groupDoc(groupId);
      if (!group) throw new AppError("NOT_FOUND", "No such group");
      if (!group.memberIds.includes(senderId)) {
        throw new AppError("FORBIDDEN", "Only members may send to a group");
      }
      const now = new Date();
      const doc: GroupMessageDoc = {
        _id: new ObjectId(),
        conversationId: conversationOf(groupId),
        groupId,
        participants: [groupToken(groupId)],
        senderId,
        receiverId: null,
        text: input.text,
        file: input.file,
        createdAt: now,
        updatedAt: now,
        deliveredAt: null,
        readAt: null,
      };
      if (clientMessageId !== null) doc.clientMessageId = clientMessageId;
      const keys = searchKeys(input.text, [groupToken(groupId)]);
      if (keys.length > 0) doc.searchKeys = keys;
      if (input.replyTo) {
        await this.checkQuoted(input.replyTo, doc.conversationId!);
        doc.replyTo = input.replyTo;
        doc.replyToId = input.replyTo._id;
      }
      try {
        await this.messageDocs.insertOne(doc);
      } catch (err) {
        const duplicate = err instanceof MongoServerError && err.code === DUPLICATE_KEY;
        if (!duplicate || clientMessageId === null) throw err;
        const repeat = await this.repeatOf(senderId, clientMessageId);
        if (repeat) return repeat;
        throw err;
      }
      return { message: this.toMessage(doc), duplicate: false };
    });
  }

  /** The stored original of a resend; DELETED when it was deleted (its tombstone). */
  private async repeatOf(senderId: string, clientMessageId: string): Promise<InsertResult | null> {
    const original = await this.messageDocs.findOne(
      queries.byClientId(senderId, clientMessageId).filter,
    );
    if (!original) return null;
    if (original.deletedAt) throw new AppError("DELETED", "This message was deleted");
    return { message: this.toMessage(original), duplicate: true };
  }

  private async checkQuoted(quoted: QuotedMessage, conversationId: string): Promise<void> {
    const _id = toObjectId(quoted._id);
    const found = _id && await this.messageDocs.findOne({ _id, conversationId, ...LIVE });
    if (!found) {
      throw new AppError("VALIDATION_ERROR", "replyTo: no such message in this conversation");
    }
  }

  history(groupId: string, query: HistoryQuery): Promise<ChatMessage[]> {
    return storeCall(async () => {
      const before = query.before === undefined ? undefined : toObjectId(query.before);
      if (before === null) throw new AppError("VALIDATION_ERROR", "before: not a message id");
      const { filter, sort } = queries.history(conversationOf(groupId), before, query.viewerId);
      const docs = await this.messageDocs.find({ ...filter })
        .sort(sort!).skip(query.skip).limit(query.limit).toArray();
      return docs.reverse().map((doc) => this.toMessage(doc));
    });
  }

  /** The newest message of the group the user has not hidden. */
  private async lastVisible(groupId: string, userId: string): Promise<GroupMessageDoc | null> {
    const { filter, sort } = queries.history(conversationOf(groupId), undefined, userId);
    return await this.messageDocs.find({ ...filter }).sort(sort!).limit(1).next();
  }

  conversations(userId: string, query: PageQuery) {
    return storeCall(async () => {
      const wanted = query.skip + query.limit;
      const [direct, groups] = await Promise.all([
        this.parts.messages.conversations(userId, { limit: wanted, skip: 0 }),
        this.groupRows(userId, wanted),
      ]);
      return mergeConversations(direct, groups, query);
    });
  }

  /** The user's `limit` most recent groups as list rows. */
  private async groupRows(userId: string, limit: number): Promise<GroupConversationSummary[]> {
    const docs = await this.groups.find({ memberIds: userId }).toArray();
    const withLast = await Promise.all(docs.map(async (doc) => {
      const last = await this.lastVisible(doc._id.toHexString(), userId);
      return { doc, last, at: (last?.createdAt ?? doc.createdAt).toISOString() };
    }));
    withLast.sort((x, y) => (x.at < y.at ? 1 : x.at > y.at ? -1 : 0));
    const now = new Date();
    return await Promise.all(
      withLast.slice(0, limit).map(async ({ doc, last }) => {
        const groupId = doc._id.toHexString();
        const pointer = await this.members.findOne({ _id: pairId(groupId, userId) });
        const after = pointer?.readMessageId;
        const unreadCount = await this.messageDocs.countDocuments(
          fromOthersAfter(groupId, userId, after),
        );
        const mute = await this.mutes.findOne({ _id: pairId(groupId, userId) });
        const muted = mute !== null && (mute.until === null || mute.until > now);
        return {
          group: toGroup(doc),
          lastMessage: last && this.toMessage(last),
          unreadCount,
          muted,
          mutedUntil: muted && mute.until ? mute.until.toISOString() : null,
        };
      }),
    );
  }

  /** The message, if it is a live one of this group. */
  private async groupMessage(groupId: string, messageId: string): Promise<GroupMessageDoc | null> {
    const _id = toObjectId(messageId);
    return _id &&
      await this.messageDocs.findOne({ _id, conversationId: conversationOf(groupId), ...LIVE });
  }

  markRead(groupId: string, userId: string, messageId: string, at: string) {
    return this.write(async () => {
      const message = await this.groupMessage(groupId, messageId);
      if (!message) return { ok: false, reason: "not_found" } as const;
      if (!(await this.isMember(groupId, userId))) {
        return { ok: false, reason: "not_member" } as const;
      }
      const _id = pairId(groupId, userId);
      return await this.pointerWrites.run(_id, async () => {
        for (;;) {
          const row = await this.members.findOne({ _id });
          if (!row) return { ok: false, reason: "not_member" } as const;
          if (hex(row.readMessageId) >= hex(message._id)) {
            return {
              ok: true,
              moved: false,
              messageId: hex(row.readMessageId),
              readAt: (row.readAt ?? new Date(at)).toISOString(),
            } as const;
          }
          const delivered = hex(row.deliveredMessageId) > hex(message._id)
            ? row.deliveredMessageId
            : message._id;
          const written = await this.members.updateOne(
            { _id, readMessageId: row.readMessageId, deliveredMessageId: row.deliveredMessageId },
            {
              $set: {
                readMessageId: message._id,
                readAt: new Date(at),
                deliveredMessageId: delivered,
              },
            },
          );
          if (written.matchedCount === 1) {
            return { ok: true, moved: true, messageId: hex(message._id), readAt: at } as const;
          }
        }
      });
    });
  }

  reads(groupId: string, messageId: string): Promise<GroupRead[]> {
    return storeCall(async () => {
      const message = await this.groupMessage(groupId, messageId);
      const group = message && await this.groupDoc(groupId);
      if (!message || !group) return [];
      const rows = await this.members.find({
        groupId,
        readMessageId: { $gte: message._id },
        readAt: { $ne: null },
      }).toArray();
      const readAt = new Map(rows.map((row) => [row.userId, row.readAt!]));
      return group.memberIds
        .filter((id) => id !== message.senderId && readAt.has(id))
        .map((id) => ({ userId: id, readAt: readAt.get(id)!.toISOString() }));
    });
  }

  undelivered(userId: string, query: { limit: number; after?: string }): Promise<ChatMessage[]> {
    return storeCall(async () => {
      const after = query.after === undefined ? null : toObjectId(query.after);
      const groups = await this.groups.find({ memberIds: userId }, { projection: { _id: 1 } })
        .toArray();
      const pages = await Promise.all(groups.map(async ({ _id }) => {
        const groupId = _id.toHexString();
        const row = await this.members.findOne({ _id: pairId(groupId, userId) });
        if (!row) return [];
        const from = hex(row.deliveredMessageId) > hex(after) ? row.deliveredMessageId : after;
        const docs = await this.messageDocs.find(fromOthersAfter(groupId, userId, from))
          .sort({ _id: 1 }).limit(query.limit).toArray();
        return docs.map((doc) => this.toMessage(doc));
      }));
      return pages.flat().sort(byId).slice(0, query.limit);
    });
  }

  acknowledge(groupId: string, userId: string, messageId: string): Promise<boolean> {
    return this.write(async () => {
      const message = await this.groupMessage(groupId, messageId);
      if (!message || !(await this.isMember(groupId, userId))) return false;
      const _id = pairId(groupId, userId);
      return await this.pointerWrites.run(_id, async () => {
        for (;;) {
          const row = await this.members.findOne({ _id });
          if (!row || hex(row.deliveredMessageId) >= hex(message._id)) return false;
          const written = await this.members.updateOne(
            { _id, deliveredMessageId: row.deliveredMessageId },
            { $set: { deliveredMessageId: message._id } },
          );
          if (written.matchedCount === 1) return true;
        }
      });
    });
  }

  search(userId: string, q: string, query: { groupId?: string; limit: number; before?: string }) {
    return storeCall(async () => {
      const words = searchWords(q);
      if (words.length === 0) return [];
      const before = query.before === undefined ? undefined : toObjectId(query.before);
      if (before === null) throw new AppError("VALIDATION_ERROR", "before: not a message id");
      const groups = (await this.groupsOf(userId))
        .filter((g) => query.groupId === undefined || g._id === query.groupId);
      const pages = await Promise.all(groups.map(async (group) => {
        const keys = words.map((word) => searchKey(groupToken(group._id), word));
        const { filter, sort } = queries.search(keys, undefined, before);
        const docs = await this.messageDocs.find({ ...filter, ...visibleTo(userId) })
          .sort(sort!).limit(query.limit).toArray();
        return docs.map((doc) => this.toMessage(doc));
      }));
      return pages.flat().sort((x, y) => byId(y, x)).slice(0, query.limit);
    });
  }

  mute(groupId: string, userId: string, until: string | null): Promise<void> {
    return this.write(async () => {
      await upsertRetrying(() =>
        this.mutes.updateOne(
          { _id: pairId(groupId, userId) },
          { $set: { until: until === null ? null : new Date(until) } },
          { upsert: true },
        )
      );
    });
  }

  unmute(groupId: string, userId: string): Promise<boolean> {
    return this.write(async () => {
      const result = await this.mutes.deleteOne({ _id: pairId(groupId, userId) });
      return result.deletedCount > 0;
    });
  }

  isMuted(groupId: string, userId: string, at: string): Promise<boolean> {
    return storeCall(async () => {
      const mute = await this.mutes.findOne({ _id: pairId(groupId, userId) });
      return mute !== null && (mute.until === null || mute.until > new Date(at));
    });
  }
}

/** Whether `userId` is a member of the group of `doc` (false for a 1:1 message). */
export function groupMembership(db: Db) {
  const groups = db.collection<GroupDoc>("groups");
  return async (doc: { groupId?: string }, userId: string): Promise<boolean> => {
    const _id = doc.groupId === undefined ? null : toObjectId(doc.groupId);
    return _id !== null && await groups.findOne({ _id, memberIds: userId }) !== null;
  };
}
