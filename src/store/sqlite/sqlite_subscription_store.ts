/** Web Push subscriptions in the `push_subscriptions` table (schema.ts). */
import {
  endpointId,
  MAX_SUBSCRIPTIONS_PER_USER,
  type SubscriptionStore,
} from "../subscription_store.ts";
import type { SqliteConnection } from "./connection.ts";

export function sqliteSubscriptionStore(db: SqliteConnection): SubscriptionStore {
  return {
    save: async (subscription) =>
      await db.write("saveSubscription", {
        endpointId: await endpointId(subscription.endpoint),
        subscription,
        keep: MAX_SUBSCRIPTIONS_PER_USER,
      }),
    listForUser: (userId) =>
      db.read("listSubscriptions", { userId, limit: MAX_SUBSCRIPTIONS_PER_USER * 2 }),
    remove: async (endpoint, userId) =>
      await db.write("removeSubscription", { endpointId: await endpointId(endpoint), userId }),
  };
}
