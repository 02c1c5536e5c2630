/**
 * A database worker: owns one SQLite connection, so that no query or commit
 * ever runs on the main thread (a commit with `synchronous=FULL` waits for the
 * disk). The writer applies each batch of writes in one transaction (group
 * commit), every write that may refuse in a savepoint of its own (a refusal
 * undoes that write only), and answers only after
 * `COMMIT` returned; the reader answers reads on a connection of its own,
 * which WAL lets run while the writer commits.
 */
import { AppError } from "../../errors.ts";
import {
  forgetConversationIds,
  reads,
  type Writes,
  writes,
  writesThatNeverRefuse,
} from "./operations.ts";
import type { Outcome, WireError, WorkerReply, WorkerRequest } from "./protocol.ts";
import { Sql } from "./sql.ts";

interface WorkerScope {
  onmessage: ((event: MessageEvent<WorkerRequest>) => void) | null;
  postMessage(reply: WorkerReply): void;
  close(): void;
}
const scope = globalThis as unknown as WorkerScope;

let sql: Sql | undefined;

scope.onmessage = ({ data: request }) => {
  switch (request.type) {
    case "open":
      try {
        sql = request.role === "writer"
          ? Sql.openWriter(request.path)
          : request.role === "reader"
          ? Sql.openReader(request.path)
          : Sql.openCheckpointer(request.path);
        scope.postMessage({ type: "opened" });
      } catch (err) {
        scope.postMessage({ type: "openFailed", error: wireError(err) });
      }
      return;
    case "write":
      scope.postMessage({ type: "written", batch: request.batch, results: commit(request.ops) });
      return;
    case "checkpoint": {
      // Never inside a COMMIT: the writer keeps committing meanwhile (Sql.checkpoint).
      const outcome = attempt(() => sql!.checkpoint());
      scope.postMessage({ type: "checkpointed", id: request.id, outcome });
      return;
    }
    case "read": {
      const run = reads[request.name] as (sql: Sql, args: unknown) => unknown;
      scope.postMessage({
        type: "read",
        id: request.id,
        outcome: attempt(() => run(sql!, request.args)),
      });
      return;
    }
    case "close":
      sql?.close();
      scope.postMessage({ type: "closed" });
      scope.close();
  }
};

function commit(ops: { name: keyof Writes; args: unknown }[]): Outcome[] {
  const db = sql!.db;
  const results: Outcome[] = [];
  try {
    db.exec("BEGIN IMMEDIATE");
    for (const op of ops) {
      const run = writes[op.name] as (sql: Sql, args: unknown) => unknown;
      if (writesThatNeverRefuse.has(op.name)) {
        results.push({ ok: true, value: run(sql!, op.args) });
        continue;
      }
      db.exec("SAVEPOINT op");
      try {
        results.push({ ok: true, value: run(sql!, op.args) });
        db.exec("RELEASE op");
      } catch (err) {
        // A refusal undoes its own changes only. Anything else is the database
        // failing (disk, lock, corruption): the whole batch is not committed.
        if (!(err instanceof AppError) || !db.isTransaction) throw err;
        db.exec("ROLLBACK TO op");
        db.exec("RELEASE op");
        results.push({ ok: false, error: wireError(err) });
      }
    }
    db.exec("COMMIT");
    return results;
  } catch (err) {
    if (db.isTransaction) {
      try {
        db.exec("ROLLBACK");
      } catch { /* the failure below is what counts */ }
    }
    // Conversations this batch created are gone with it.
    forgetConversationIds();
    const failed: Outcome = { ok: false, error: wireError(err) };
    return ops.map(() => failed);
  }
}

function attempt(work: () => unknown): Outcome {
  try {
    return { ok: true, value: work() };
  } catch (err) {
    return { ok: false, error: wireError(err) };
  }
}

function wireError(err: unknown): WireError {
  if (err instanceof AppError) return { code: err.code, message: err.message };
  return { message: err instanceof Error ? err.message : String(err) };
}
