/**
 * The main thread's side of the SQLite backend: a writer worker, and for a
 * file a reader worker (`:memory:` is one connection's own database, so its
 * reads go to the writer).
 *
 * Group commit: writes wait in `pending` while a batch is being committed,
 * and all of them go in the next batch, one transaction. Each write's promise
 * settles with the reply to its batch, which the worker sends only after
 * `COMMIT`: a confirmed write is on disk. Writes run in submission order.
 *
 * A failure of the database (disk, lock held elsewhere, a worker that died)
 * answers STORE_UNAVAILABLE for what was under way, and the next call starts
 * again: a dead worker is replaced, nothing needs a restart.
 */
import { setImmediate } from "node:timers";
import { AppError } from "../../errors.ts";
import type { ArgsOf, ReadName, Reads, WriteName, Writes } from "./operations.ts";
import type { Outcome, Role, WireError, WorkerReply, WorkerRequest } from "./protocol.ts";

/** Most writes in one transaction: bounds how long one commit holds the writer. */
const MAX_BATCH = 256;
/**
 * Writes answered per turn of the event loop: the code waiting on each (a
 * delivery, an ack) runs then, so a large batch's answers come in slices with
 * socket I/O between them rather than as one long stall.
 */
const ANSWERS_PER_TURN = 32;
/** Writes committed between two checkpoints (about 2 pages each: SQLite's own default is 1,000 pages). */
const CHECKPOINT_EVERY_WRITES = 1000;

export interface ConnectionOptions {
  /** Told of every failure of the database itself (clients see STORE_UNAVAILABLE). */
  onStoreError?: (operation: string, message: string) => void;
}

type Settle = { resolve: (value: unknown) => void; reject: (err: unknown) => void };
interface PendingWrite extends Settle {
  name: WriteName;
  args: unknown;
}

export class SqliteConnection {
  private readonly writer: WorkerHandle;
  private readonly reader: WorkerHandle;
  /** Copies the WAL into the database file beside the writer; none for `:memory:`. */
  private readonly checkpointer: WorkerHandle | undefined;
  private writesSinceCheckpoint = 0;
  private checkpointing: Promise<unknown> | undefined;
  private pending: PendingWrite[] = [];
  private committing = false;
  private flushQueued = false;
  private idleWaiters: (() => void)[] = [];
  private closed = false;

  private constructor(path: string, private readonly options: ConnectionOptions) {
    this.writer = new WorkerHandle(path, "writer");
    this.reader = path === ":memory:" ? this.writer : new WorkerHandle(path, "reader");
    this.checkpointer = path === ":memory:" ? undefined : new WorkerHandle(path, "checkpointer");
  }

  /** Opens the database (creating and migrating it) and checks that both workers answer. */
  static async open(path: string, options: ConnectionOptions = {}): Promise<SqliteConnection> {
    const connection = new SqliteConnection(path, options);
    await connection.writer.ready();
    await connection.reader.ready();
    await connection.checkpointer?.ready();
    return connection;
  }

  write<K extends WriteName>(name: K, args: ArgsOf<Writes[K]>): Promise<ReturnType<Writes[K]>> {
    if (this.closed) return Promise.reject(unavailable());
    return new Promise((resolve, reject) => {
      this.pending.push({ name, args, resolve: resolve as (value: unknown) => void, reject });
      this.scheduleFlush();
    });
  }

  async read<K extends ReadName>(
    name: K,
    args: ArgsOf<Reads[K]>,
  ): Promise<ReturnType<Reads[K]>> {
    if (this.closed) throw unavailable();
    const outcome = await this.reader.read(name, args);
    return this.settle(name, outcome) as ReturnType<Reads[K]>;
  }

  /** Waits until every write submitted so far is committed (or failed). */
  idle(): Promise<void> {
    if (!this.committing && this.pending.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async close(): Promise<void> {
    await this.idle();
    this.closed = true;
    // The writer last: closing the last connection checkpoints and removes the WAL file.
    await this.checkpointing;
    await this.checkpointer?.close();
    if (this.reader !== this.writer) await this.reader.close();
    await this.writer.close();
  }

  /** Writes submitted in one turn of the event loop share a batch even when none is committing. */
  private scheduleFlush(): void {
    if (this.committing || this.flushQueued) return;
    this.flushQueued = true;
    queueMicrotask(() => {
      this.flushQueued = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.committing || this.pending.length === 0) return;
    this.committing = true;
    let next = this.sendNext();
    while (next) {
      const { batch, committed } = next;
      const results = await committed;
      // The next batch goes to the writer first: it commits while this thread answers.
      next = this.sendNext();
      this.checkpointSoon(batch.length);
      await this.answer(batch, results);
      // Writes that arrived while answering, with nothing committing meanwhile.
      next ??= this.sendNext();
    }
    this.committing = false;
    for (const wake of this.idleWaiters.splice(0)) wake();
  }

  /** Sends the writes waiting (up to a batch) to the writer; undefined when none wait. */
  private sendNext(): { batch: PendingWrite[]; committed: Promise<Outcome[]> } | undefined {
    if (this.pending.length === 0) return undefined;
    const batch = this.pending.splice(0, MAX_BATCH);
    return { batch, committed: this.writer.write(batch) };
  }

  /** Starts a checkpoint once enough was written since the last, unless one is running. */
  private checkpointSoon(writes: number): void {
    this.writesSinceCheckpoint += writes;
    if (!this.checkpointer || this.checkpointing) return;
    if (this.writesSinceCheckpoint < CHECKPOINT_EVERY_WRITES) return;
    this.writesSinceCheckpoint = 0;
    this.checkpointing = this.checkpointer.checkpoint().then((outcome) => {
      this.checkpointing = undefined;
      // A checkpoint that failed leaves the WAL longer; the next one copies it all.
      if (!outcome.ok) this.options.onStoreError?.("checkpoint", outcome.error.message);
    });
  }

  private async answer(batch: PendingWrite[], results: Outcome[]): Promise<void> {
    for (let from = 0; from < batch.length; from += ANSWERS_PER_TURN) {
      if (from > 0) await new Promise((resolve) => setImmediate(resolve));
      for (let i = from; i < Math.min(from + ANSWERS_PER_TURN, batch.length); i++) {
        const write = batch[i]!;
        try {
          write.resolve(this.settle(write.name, results[i]!));
        } catch (err) {
          write.reject(err);
        }
      }
    }
  }

  private settle(operation: string, outcome: Outcome): unknown {
    if (outcome.ok) return outcome.value;
    throw this.toAppError(operation, outcome.error);
  }

  private toAppError(operation: string, error: WireError): AppError {
    if (error.code) return new AppError(error.code, error.message);
    this.options.onStoreError?.(operation, error.message);
    return unavailable();
  }
}

function unavailable(): AppError {
  return new AppError("STORE_UNAVAILABLE", "The message store is unavailable; retry later");
}

/**
 * One worker and its outstanding requests. A worker that dies fails what it
 * held; the next request starts a new one on the same file.
 */
class WorkerHandle {
  private worker: Worker | undefined;
  private opening: Promise<void> | undefined;
  private nextId = 0;
  /** Requests sent and not answered; a write batch's with its number of writes. */
  private readonly waiting = new Map<
    number,
    { writes: number | null; answer: (outcome: Outcome | Outcome[]) => void }
  >();
  private waitingClose: (() => void) | undefined;

  constructor(private readonly path: string, private readonly role: Role) {}

  ready(): Promise<void> {
    return this.opening ??= this.start();
  }

  async write(batch: { name: WriteName; args: unknown }[]): Promise<Outcome[]> {
    const failed = await this.startedOrFailure();
    if (failed) return batch.map(() => failed);
    const id = this.nextId++;
    // Without the promise callbacks, which cannot cross to the worker.
    const ops = batch.map(({ name, args }) => ({ name, args }));
    return await this.request(id, { type: "write", batch: id, ops }, batch.length) as Outcome[];
  }

  async read(name: ReadName, args: unknown): Promise<Outcome> {
    const failed = await this.startedOrFailure();
    if (failed) return failed;
    const id = this.nextId++;
    return await this.request(id, { type: "read", id, name, args }, null) as Outcome;
  }

  async checkpoint(): Promise<Outcome> {
    const failed = await this.startedOrFailure();
    if (failed) return failed;
    const id = this.nextId++;
    return await this.request(id, { type: "checkpoint", id }, null) as Outcome;
  }

  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    await new Promise<void>((resolve) => {
      this.waitingClose = resolve;
      worker.postMessage({ type: "close" } satisfies WorkerRequest);
    });
    this.worker = undefined;
  }

  /** Starts the worker if there is none; an outcome to answer with when it cannot. */
  private async startedOrFailure(): Promise<Outcome | undefined> {
    try {
      await this.ready();
      return undefined;
    } catch (err) {
      this.opening = undefined;
      return { ok: false, error: { message: err instanceof Error ? err.message : String(err) } };
    }
  }

  private request(
    id: number,
    message: WorkerRequest,
    writes: number | null,
  ): Promise<Outcome | Outcome[]> {
    return new Promise((resolve) => {
      this.waiting.set(id, { writes, answer: resolve });
      try {
        this.worker!.postMessage(message);
      } catch (err) {
        this.fail(id, String(err));
      }
    });
  }

  /** Answers a request with a failure of the database (one per write of a batch). */
  private fail(id: number, message: string): void {
    const request = this.waiting.get(id);
    if (!request) return;
    this.waiting.delete(id);
    const failed: Outcome = { ok: false, error: { message } };
    request.answer(request.writes === null ? failed : Array(request.writes).fill(failed));
  }

  private start(): Promise<void> {
    const worker = new Worker(new URL("./worker.ts", import.meta.url).href, { type: "module" });
    this.worker = worker;
    return new Promise<void>((resolve, reject) => {
      worker.onmessage = ({ data }: MessageEvent<WorkerReply>) => {
        switch (data.type) {
          case "opened":
            return resolve();
          case "openFailed":
            this.discard(worker);
            return reject(new Error(`SQLite (${this.role}): ${data.error.message}`));
          case "written":
            return this.answer(data.batch, data.results);
          case "read":
          case "checkpointed":
            return this.answer(data.id, data.outcome);
          case "closed":
            this.waitingClose?.();
        }
      };
      worker.onerror = (event) => {
        event.preventDefault();
        const died = `the SQLite ${this.role} worker stopped: ${event.message}`;
        this.discard(worker);
        reject(new Error(died));
        for (const id of [...this.waiting.keys()]) this.fail(id, died);
      };
      worker.postMessage(
        { type: "open", path: this.path, role: this.role } satisfies WorkerRequest,
      );
    });
  }

  private discard(worker: Worker): void {
    worker.terminate();
    if (this.worker === worker) {
      this.worker = undefined;
      this.opening = undefined;
    }
  }

  private answer(id: number, outcome: Outcome | Outcome[]): void {
    const request = this.waiting.get(id);
    this.waiting.delete(id);
    request?.answer(outcome);
  }
}
