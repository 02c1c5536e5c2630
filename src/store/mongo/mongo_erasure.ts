/**
 * The erasure on MongoDB (erasure.ts). There is no transaction to hold it
 * (FerretDB has none, and a user's history can be large), so it runs as
 * steps that each find what is left and remove it, bounded per command
 * (ferretdb.ts, item 4): a call that fails part-way has removed some of it,
 * and calling again removes the rest. Uploads go first, while the messages
 * that name their receivers are still there to be counted; the user record
 * goes last, so an erasure that stopped early is still visible as one.
 */
import type { Collection, Db, Document, Filter } from "mongodb";
import type { ErasureCounts, ErasureStore } from "../erasure.ts";
import type { GroupRepository } from "../group_store.ts";
import { withReaction } from "../../protocol/reactions.ts";
import { inRounds, MAX_BULK_OPS } from "./ferretdb.ts";
import type { GridFsUploadStore } from "./gridfs_upload_store.ts";
import type { MongoHostUserRepository } from "./host_users.ts";
import { conversationOf } from "./mongo_groups.ts";
import type { MessageDoc } from "./mongo_store.ts";
import { storeCall } from "./store_errors.ts";
import type { UserIdCodec } from "./stored_ids.ts";

export interface MongoErasureDeps {
  db: Db;
  uploads: GridFsUploadStore;
  ids: UserIdCodec;
  groups: GroupRepository;
  /** Set when users are the host's documents: theirs stay (only Parley's fields go). */
  hostUsers?: MongoHostUserRepository;
}

export function mongoErasureStore(deps: MongoErasureDeps): ErasureStore {
  const { db, ids } = deps;
  const messages = db.collection<MessageDoc>("messages");
  const collection = (name: string) => db.collection<Document>(name);

  return {
    eraseUser: (userId) =>
      storeCall(async (): Promise<ErasureCounts> => {
        const uploads = await deps.uploads.eraseUser(userId);
        let erased = 0;
        let reactions = 0;
        let hiddenMessages = 0;
        /** Removes what `filter` finds, counting what the messages carried. */
        const eraseMessages = async (filter: Filter<MessageDoc>, { unquote = false } = {}) => {
          for (;;) {
            const docs = await messages.find(filter)
              .project<Pick<MessageDoc, "_id" | "reactions" | "hiddenFor">>({
                _id: 1,
                reactions: 1,
                hiddenFor: 1,
              })
              .limit(MAX_BULK_OPS).toArray();
            if (docs.length === 0) return;
            for (const doc of docs) {
              reactions += doc.reactions?.filter((r) => r.userIds.includes(userId)).length ?? 0;
              hiddenMessages += doc.hiddenFor?.length ?? 0;
              if (!unquote) continue;
              // Replies in groups that quote it keep its id only, as after a delete.
              const messageId = doc._id.toHexString();
              await messages.updateMany({ replyToId: messageId }, {
                $set: { replyTo: { _id: messageId, deleted: true } },
                $unset: { replyToId: "" },
              });
            }
            const result = await messages.deleteMany({ _id: { $in: docs.map((doc) => doc._id) } });
            erased += result.deletedCount;
          }
        };

        // Their groups: what they sent there and their reactions go, then they leave (the
        // earliest joined becomes owner); leaving last, so that a retry still finds the groups.
        const groups = await deps.groups.groupsOf(userId);
        for (const group of groups) {
          const conversationId = conversationOf(group._id);
          await eraseMessages({ conversationId, senderId: userId }, { unquote: true });
          reactions += await takeReactionsOff(messages, conversationId, userId);
          await deps.groups.removeMember(group._id, userId, new Date().toISOString());
        }

        // The user's 1:1 conversations whole (their replies quote only each other).
        await eraseMessages({ participants: userId });
        // Tombstones of the user's deleted messages (their client ids; group ones keep string ids).
        await removeAll(messages, {
          senderId: { $in: [userId, ids.toStored(userId)] },
          deletedAt: { $exists: true },
        });
        const conversations = await removeAll(collection("conversations"), { ownerId: userId });
        await removeAll(collection("conversations"), { partnerId: userId });

        const counts: ErasureCounts = {
          messages: erased,
          conversations,
          groupMemberships: groups.length,
          uploads,
          subscriptions: await removeAll(collection("push_subscriptions"), { userId }),
          blocks: await removeAll(collection("blocks"), { blockerId: userId }) +
            await removeAll(collection("blocks"), { blockedId: userId }),
          mutes: await removeAll(collection("mutes"), { userId }) +
            await removeAll(collection("mutes"), { partnerId: userId }),
          hiddenMessages,
          reactions,
          reports: await removeAll(collection("reports"), { reporterId: userId }),
          users: 0,
        };
        if (deps.hostUsers) {
          await deps.hostUsers.forgetPresence(userId);
        } else {
          counts.users = (await collection("users").deleteOne({ _id: userId as never }))
            .deletedCount;
        }
        return counts;
      }),
  };
}

/** Deletes what `filter` finds, MAX_BULK_OPS documents per command; resolves with how many. */
function removeAll<T extends Document>(docs: Collection<T>, filter: Filter<T>): Promise<number> {
  return inRounds(docs, filter, async (ids) => {
    const result = await docs.deleteMany({ _id: { $in: ids } } as Filter<T>);
    return result.deletedCount;
  });
}

/**
 * Takes the user's reactions off the group's other messages, each written back
 * on the condition that its list is still the one read (as reacting does);
 * resolves with how many came off.
 */
async function takeReactionsOff(
  messages: Collection<MessageDoc>,
  conversationId: string,
  userId: string,
): Promise<number> {
  let taken = 0;
  const withReactions = messages.find({ conversationId, reactions: { $exists: true } })
    .project<Pick<MessageDoc, "_id" | "reactions">>({ _id: 1, reactions: 1 });
  for await (const doc of withReactions) {
    const theirs = doc.reactions!.filter((r) => r.userIds.includes(userId));
    if (theirs.length === 0) continue;
    let next = doc.reactions!;
    for (const { emoji } of theirs) next = withReaction(next, userId, emoji, false) ?? next;
    const result = await messages.updateOne(
      { _id: doc._id, reactions: doc.reactions },
      next.length === 0 ? { $unset: { reactions: "" } } : { $set: { reactions: next } },
    );
    if (result.modifiedCount === 1) taken += theirs.length;
  }
  return taken;
}
