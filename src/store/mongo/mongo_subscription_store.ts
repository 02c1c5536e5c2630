/**
 * Browser push subscriptions with MongoDB:
 *
 *   push_subscriptions { _id: sha256(endpoint), userId, endpoint, keys, createdAt, expirationTime }
 *
 * Index `{ userId: 1, createdAt: -1 }` serves a user's list and the cap.
 */
import type { Collection, Db } from "mongodb";
import {
  endpointId,
  MAX_SUBSCRIPTIONS_PER_USER,
  type StoredSubscription,
  type SubscriptionStore,
} from "../subscription_store.ts";
import { createIndexes, inChunks, upsertRetrying } from "./ferretdb.ts";
import { storeCall } from "./store_errors.ts";

const COLLECTION = "push_subscriptions";

interface SubscriptionDoc extends StoredSubscription {
  _id: string;
}

export class MongoSubscriptionStore implements SubscriptionStore {
  private constructor(private readonly subscriptions: Collection<SubscriptionDoc>) {}

  static async open(db: Db): Promise<MongoSubscriptionStore> {
    await storeCall(() =>
      createIndexes(db, [
        {
          collection: COLLECTION,
          key: { userId: 1, createdAt: -1 },
          name: "userId_1_createdAt_-1",
        },
      ])
    );
    return new MongoSubscriptionStore(db.collection<SubscriptionDoc>(COLLECTION));
  }

  async save(subscription: StoredSubscription): Promise<void> {
    const _id = await endpointId(subscription.endpoint);
    await storeCall(() =>
      upsertRetrying(() => this.subscriptions.replaceOne({ _id }, subscription, { upsert: true }))
    );
    const beyond = await storeCall(() =>
      this.subscriptions.find({ userId: subscription.userId })
        .sort({ createdAt: -1 })
        .skip(MAX_SUBSCRIPTIONS_PER_USER)
        .project<{ _id: string }>({ _id: 1 })
        .toArray()
    );
    for (const ids of inChunks(beyond.map((doc) => doc._id))) {
      await storeCall(() => this.subscriptions.deleteMany({ _id: { $in: ids } }));
    }
  }

  async listForUser(userId: string): Promise<StoredSubscription[]> {
    const docs = await storeCall(() =>
      this.subscriptions.find({ userId }).limit(MAX_SUBSCRIPTIONS_PER_USER * 2).toArray()
    );
    return docs.map(({ _id: _, ...subscription }) => subscription);
  }

  async remove(endpoint: string, userId?: string): Promise<boolean> {
    const _id = await endpointId(endpoint);
    const filter = userId === undefined ? { _id } : { _id, userId };
    const result = await storeCall(() => this.subscriptions.deleteOne(filter));
    return result.deletedCount === 1;
  }
}
