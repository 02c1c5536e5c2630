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
import { inRounds, MAX_BULK_OPS } from "./ferretdb.ts";
import type { GridFsUploadStore } from "./gridfs_upload_store.ts";
import type { MongoHostUserRepository } from "./host_users.ts";
import type { MessageDoc } from "./mongo_store.ts";
import { storeCall } from "./store_errors.ts";
import type { UserIdCodec } from "./stored_ids.ts";

export interface MongoErasureDeps {
  db: Db;
  uploads: GridFsUploadStore;
  ids: UserIdCodec;
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

        // The user's conversations, message by message, with what they carried.
        let erased = 0;
        let reactions = 0;
        let hiddenMessages = 0;
        for (;;) {
          const docs = await messages.find({ participants: userId })
            .project<Pick<MessageDoc, "_id" | "reactions" | "hiddenFor">>({
              _id: 1,
              reactions: 1,
              hiddenFor: 1,
            })
            .limit(MAX_BULK_OPS).toArray();
          if (docs.length === 0) break;
          for (const doc of docs) {
            reactions += doc.reactions?.filter((r) => r.userIds.includes(userId)).length ?? 0;
            hiddenMessages += doc.hiddenFor?.length ?? 0;
          }
          const result = await messages.deleteMany({ _id: { $in: docs.map((doc) => doc._id) } });
          erased += result.deletedCount;
        }
        // Tombstones of the user's deleted messages (their client ids).
        await removeAll(messages, { senderId: ids.toStored(userId), deletedAt: { $exists: true } });
        const conversations = await removeAll(collection("conversations"), { ownerId: userId });
        await removeAll(collection("conversations"), { partnerId: userId });

        const counts: ErasureCounts = {
          messages: erased,
          conversations,
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
