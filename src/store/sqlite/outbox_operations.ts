/**
 * The outbox's operations on SQLite (the `outbox` table, schema.ts migration 3),
 * merged into the worker's tables in operations.ts. A claim is one
 * `UPDATE … RETURNING` in the writer's transaction: atomic, and one file
 * serves one process anyway.
 *
 * A finished entry keeps its row with `due_at` null and the payload emptied
 * (a tombstone against adding its id again) until `purge` drops it.
 */
import type { NewOutboxEntry, OutboxEntry } from "../outbox_store.ts";
import type { Sql } from "./sql.ts";

export const outboxWrites = {
  addOutbox(sql: Sql, a: { entries: readonly NewOutboxEntry[]; now: number }): void {
    for (const entry of a.entries) {
      sql.run(
        `INSERT INTO outbox (id, channel, payload, attempts, due_at, created_at)
         VALUES (?, ?, ?, 0, ?4, ?4) ON CONFLICT (id) DO NOTHING`,
        entry.id,
        entry.channel,
        entry.payload,
        a.now,
      );
    }
  },

  claimOutbox(sql: Sql, a: { now: number; limit: number; leaseMs: number }): OutboxEntry[] {
    return sql.all<OutboxEntry>(
      `UPDATE outbox SET due_at = ?1 + ?3, attempts = attempts + 1
       WHERE id IN (SELECT id FROM outbox WHERE due_at <= ?1 ORDER BY due_at LIMIT ?2)
       RETURNING id, channel, payload, attempts`,
      a.now,
      a.limit,
      a.leaseMs,
    ).map(({ id, channel, payload, attempts }) => ({ id, channel, payload, attempts }));
  },

  finishOutbox(sql: Sql, a: { id: string; now: number }): void {
    sql.run(
      "UPDATE outbox SET due_at = NULL, finished_at = ?, payload = '' WHERE id = ?",
      a.now,
      a.id,
    );
  },

  retryOutbox(sql: Sql, a: { id: string; dueAt: number }): void {
    sql.run("UPDATE outbox SET due_at = ? WHERE id = ? AND due_at IS NOT NULL", a.dueAt, a.id);
  },

  purgeOutbox(sql: Sql, a: { before: number }): number {
    return sql.run("DELETE FROM outbox WHERE finished_at < ?", a.before);
  },
};

export const outboxReads = {
  nextOutboxDue(sql: Sql): number | null {
    return sql.get<{ due_at: number }>(
      "SELECT due_at FROM outbox WHERE due_at IS NOT NULL ORDER BY due_at LIMIT 1",
    )?.due_at ?? null;
  },
};
