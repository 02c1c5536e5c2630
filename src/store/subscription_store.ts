/**
 * Browser push subscriptions, one per endpoint (a browser profile), each owned
 * by the user who last registered it. Each store backend implements this
 * beside its chat store (src/store/sqlite/, src/store/mongo/).
 */

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

/** Endpoints are long URLs; keys and ids use their SHA-256. */
export async function endpointId(endpoint: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(endpoint));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}
