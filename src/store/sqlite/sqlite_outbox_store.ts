/** The outbox in the `outbox` table (outbox_operations.ts). */
import type { OutboxStore } from "../outbox_store.ts";
import type { SqliteConnection } from "./connection.ts";

export function sqliteOutboxStore(db: SqliteConnection): OutboxStore {
  return {
    add: (entries, now) =>
      entries.length === 0 ? Promise.resolve() : db.write("addOutbox", { entries, now }),
    claim: (now, limit, leaseMs) => db.write("claimOutbox", { now, limit, leaseMs }),
    finish: (id, now) => db.write("finishOutbox", { id, now }),
    retryAt: (id, dueAt) => db.write("retryOutbox", { id, dueAt }),
    nextDue: () => db.read("nextOutboxDue", undefined),
    purge: (before) => db.write("purgeOutbox", { before }),
  };
}
