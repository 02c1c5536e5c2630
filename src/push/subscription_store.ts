/**
 * Browser push subscriptions, one per endpoint (a browser profile), each owned
 * by the user who last registered it. Two backends beside the chat store:
 * Deno KV keys or a MongoDB collection.
 */
import type { Collection, Db } from "mongodb";
import { storeCall, upsertRetrying } from "../store/mongo/store_errors.ts";
import type { Database } from "../store/database.ts";

export interface StoredSubscription {
  endpoint: string;
  keys: { p256dh: string; auth: string };
  userId: string;
  createdAt: string;
  /** Epoch ms after which the push service drops it, if the browser said so. */
  expirationTime: number | null;
}

export interface SubscriptionStore {
  /** Stores (or moves to `userId`) the endpoint's subscription; a user keeps the newest few. */
  save(subscription: StoredSubscription): Promise<void>;
  listForUser(userId: string): Promise<StoredSubscription[]>;
  /** Removes the endpoint (only if `userId` owns it, when given); true when it existed. */
  remove(endpoint: string, userId?: string): Promise<boolean>;
}

/** Subscriptions kept per user (browsers and devices); registering one more drops the oldest. */
export const MAX_SUBSCRIPTIONS_PER_USER = 10;

export function openSubscriptionStore(database: Database): Promise<SubscriptionStore> {
  return database.kind === "kv"
    ? Promise.resolve(new KvSubscriptionStore(database.kv))
    : MongoSubscriptionStore.open(database.db);
}

/** Endpoints are long URLs; keys and ids use their SHA-256. */
async function endpointId(endpoint: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(endpoint));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function oldestBeyondCap(subscriptions: StoredSubscription[]): StoredSubscription[] {
  return [...subscriptions]
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
    .slice(MAX_SUBSCRIPTIONS_PER_USER);
}

/**
 * Keys:
 *   ["push_sub", userId, endpointId]   → StoredSubscription
 *   ["push_endpoint", endpointId]      → userId   (who owns the endpoint now)
 */
class KvSubscriptionStore implements SubscriptionStore {
  constructor(private readonly kv: Deno.Kv) {}

  async save(subscription: StoredSubscription): Promise<void> {
    const id = await endpointId(subscription.endpoint);
    for (let i = 0; i < 20; i++) {
      const owner = await this.kv.get<string>(["push_endpoint", id]);
      const op = this.kv.atomic().check(owner)
        .set(["push_endpoint", id], subscription.userId)
        .set(["push_sub", subscription.userId, id], subscription);
      if (owner.value && owner.value !== subscription.userId) {
        op.delete(["push_sub", owner.value, id]);
      }
      if ((await op.commit()).ok) break;
    }
    for (const old of oldestBeyondCap(await this.listForUser(subscription.userId))) {
      await this.remove(old.endpoint, subscription.userId);
    }
  }

  async listForUser(userId: string): Promise<StoredSubscription[]> {
    const found: StoredSubscription[] = [];
    const entries = this.kv.list<StoredSubscription>(
      { prefix: ["push_sub", userId] },
      { limit: MAX_SUBSCRIPTIONS_PER_USER * 2 },
    );
    for await (const entry of entries) found.push(entry.value);
    return found;
  }

  async remove(endpoint: string, userId?: string): Promise<boolean> {
    const id = await endpointId(endpoint);
    const owner = await this.kv.get<string>(["push_endpoint", id]);
    if (!owner.value || (userId !== undefined && owner.value !== userId)) return false;
    const result = await this.kv.atomic().check(owner)
      .delete(["push_endpoint", id])
      .delete(["push_sub", owner.value, id])
      .commit();
    return result.ok;
  }
}

interface SubscriptionDoc extends StoredSubscription {
  _id: string;
}

/** `push_subscriptions { _id: sha256(endpoint), userId, endpoint, keys, createdAt, expirationTime }`. */
class MongoSubscriptionStore implements SubscriptionStore {
  private constructor(private readonly subscriptions: Collection<SubscriptionDoc>) {}

  static async open(db: Db): Promise<MongoSubscriptionStore> {
    const subscriptions = db.collection<SubscriptionDoc>("push_subscriptions");
    await storeCall(() => subscriptions.createIndex({ userId: 1, createdAt: -1 }));
    return new MongoSubscriptionStore(subscriptions);
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
    if (beyond.length > 0) {
      await storeCall(() =>
        this.subscriptions.deleteMany({ _id: { $in: beyond.map((doc) => doc._id) } })
      );
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
