/**
 * What one storage backend returns: everything Parley stores, over one
 * connection (SQLite: one database file and the worker that owns it; MongoDB:
 * one client). `open_backend.ts` is the one switch that picks it.
 */
import type { ErasureStore } from "./erasure.ts";
import type { OutboxStore } from "./outbox_store.ts";
import type { SubscriptionStore } from "./subscription_store.ts";
import type { UploadStore } from "./upload_store.ts";
import type { ChatStore } from "./repository.ts";

export interface StoreBackend {
  readonly kind: "sqlite" | "mongo";
  readonly chat: ChatStore;
  /** Upload records (and, with MongoDB, their bytes: SQLite's stay files in `UPLOAD_DIR`). */
  readonly uploads: UploadStore;
  readonly subscriptions: SubscriptionStore;
  /** Webhook calls, Web Push requests and events not yet delivered (src/push/outbox_dispatcher.ts). */
  readonly outbox: OutboxStore;
  /** Removes everything stored about a user (the service API's erasure). */
  readonly erasure: ErasureStore;
  /** Resolves when the store answers; throws STORE_UNAVAILABLE otherwise. */
  ping(): Promise<void>;
  /** Waits for writes under way, then closes the connection. */
  close(): Promise<void>;
}
