/**
 * A SQLite connection with its prepared statements kept: each SQL text is
 * compiled once per connection, the first time it runs.
 */
import { DatabaseSync, type SQLInputValue, type StatementSync } from "node:sqlite";
import { MIGRATIONS } from "./schema.ts";
import { registerSearchKeys } from "./search_index.ts";

export type Row = Record<string, SQLInputValue>;

/** How long a write waits for a lock another process holds (an operator's `sqlite3`, a backup). */
const BUSY_TIMEOUT_MS = 2000;
/**
 * How long a RESTART checkpoint waits for the writer's transaction, then for
 * readers (new commits wait meanwhile): one that cannot finish by then gives
 * up, and the next checkpoint tries again.
 */
const RESTART_WAIT_MS = 250;

export class Sql {
  private readonly statements = new Map<string, StatementSync>();

  constructor(readonly db: DatabaseSync) {}

  /**
   * Opens the writer's connection: WAL (readers never wait for it), every
   * commit synced to disk (`synchronous=FULL`: durable on power loss too),
   * migrations applied.
   */
  static openWriter(path: string): Sql {
    const db = new DatabaseSync(path);
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    db.exec("PRAGMA journal_mode = WAL");
    db.exec("PRAGMA synchronous = FULL");
    // Checkpoints run on a connection of their own (openCheckpointer), never inside a COMMIT.
    db.exec("PRAGMA wal_autocheckpoint = 0");
    db.exec("PRAGMA foreign_keys = ON");
    // The search triggers call it (migration 5 too): every connection that writes messages needs it.
    registerSearchKeys(db);
    const sql = new Sql(db);
    sql.migrate();
    if (path !== ":memory:") preallocateWal(`${path}-wal`);
    return sql;
  }

  /**
   * A connection that only copies the WAL back into the database file. In WAL
   * mode a checkpoint runs beside the writer, which keeps committing: the
   * checkpoint's writes and syncs of the database file (slow while it grows,
   * up to a second here) then delay no commit.
   */
  static openCheckpointer(path: string): Sql {
    const db = new DatabaseSync(path);
    db.exec(`PRAGMA busy_timeout = ${RESTART_WAIT_MS}`);
    db.exec("PRAGMA wal_autocheckpoint = 0");
    return new Sql(db);
  }

  /** A second connection for reads: in WAL mode it sees every commit and blocks no write. */
  static openReader(path: string): Sql {
    const db = new DatabaseSync(path, { readOnly: true });
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    return new Sql(db);
  }

  /**
   * Copies the WAL back into the database file (the checkpointer's one job).
   * PASSIVE never waits for the writer or a reader, but while the writer keeps
   * committing it never copies the very last frames either, and SQLite starts
   * the WAL over only after a checkpoint copied all of them: under steady load
   * the WAL then grows without end (4.8 GB after 3 minutes at 500 messages/s).
   * Once it has outgrown its preallocated size, a RESTART follows: it waits
   * for the writer's transaction, holds new ones back while it copies the few
   * frames the PASSIVE one left, and the next commit writes from the WAL's
   * start. Returns the WAL's size in frames before this checkpoint.
   */
  checkpoint(): number {
    const passive = this.get<{ log: number }>("PRAGMA wal_checkpoint(PASSIVE)")!;
    const pageSize = this.get<{ page_size: number }>("PRAGMA page_size")!.page_size;
    if (passive.log * pageSize >= WAL_PREALLOCATED_BYTES) {
      this.get("PRAGMA wal_checkpoint(RESTART)");
    }
    return passive.log;
  }

  get<T = Row>(text: string, ...params: SQLInputValue[]): T | undefined {
    return this.statement(text).get(...params) as T | undefined;
  }

  all<T = Row>(text: string, ...params: SQLInputValue[]): T[] {
    return this.statement(text).all(...params) as T[];
  }

  /** Runs a write; resolves with the number of rows it changed. */
  run(text: string, ...params: SQLInputValue[]): number {
    return Number(this.statement(text).run(...params).changes);
  }

  close(): void {
    this.db.close();
  }

  private statement(text: string): StatementSync {
    let statement = this.statements.get(text);
    if (!statement) {
      statement = this.db.prepare(text);
      this.statements.set(text, statement);
    }
    return statement;
  }

  private migrate(): void {
    const { user_version: version } = this.get<{ user_version: number }>("PRAGMA user_version")!;
    if (version > MIGRATIONS.length) {
      throw new Error(
        `the database has schema version ${version}, newer than this Parley's ` +
          `${MIGRATIONS.length}: it was written by a newer release`,
      );
    }
    for (let next = version; next < MIGRATIONS.length; next++) {
      this.db.exec("BEGIN IMMEDIATE");
      try {
        this.db.exec(MIGRATIONS[next]!);
        this.db.exec(`PRAGMA user_version = ${next + 1}`);
        this.db.exec("COMMIT");
      } catch (err) {
        this.db.exec("ROLLBACK");
        throw err;
      }
    }
  }
}

/**
 * The size the WAL file is given when the writer opens; it stays about this
 * size, as the checkpointer starts it over once it is full (`Sql.checkpoint`).
 */
const WAL_PREALLOCATED_BYTES = 32 * 1024 * 1024;

/**
 * Gives the WAL file its blocks up front. A commit that appends to a growing
 * file makes its fsync wait for the file system's journal, which also flushes
 * whatever else is pending on the disk (the checkpoint's pages): 100–500 ms
 * stalls here, where an fsync of blocks already allocated takes 0.2 ms. SQLite
 * reuses the WAL from its start after a checkpoint that copied all of it, so
 * with the space allocated once commits overwrite, and stay fast. The zeros go after what the
 * file holds (frames a crash left are kept): a frame of zeros fails its
 * checksum, and SQLite reads a WAL up to its first invalid frame.
 */
function preallocateWal(wal: string): void {
  const size = Deno.statSync(wal).size;
  if (size >= WAL_PREALLOCATED_BYTES) return;
  const file = Deno.openSync(wal, { write: true });
  try {
    file.seekSync(size, Deno.SeekMode.Start);
    const zeros = new Uint8Array(1024 * 1024);
    for (let at = size; at < WAL_PREALLOCATED_BYTES; at += zeros.length) {
      file.writeSync(zeros.subarray(0, Math.min(zeros.length, WAL_PREALLOCATED_BYTES - at)));
    }
    file.syncSync();
  } finally {
    file.close();
  }
}
