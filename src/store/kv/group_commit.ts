/**
 * Group commit for Deno KV: every write of the store goes through one queue,
 * and the writes that queue up while a commit is in flight share the next
 * atomic commit. An idle store commits a lone write at once (no added
 * latency); a busy one commits dozens of writes per fsync.
 *
 * Each write is a small read-modify-write function over a {@linkcode KvTx}: its
 * reads see the committed store plus the writes of the earlier operations of
 * the same batch, and its writes are collected, merged per key and committed
 * together. A caller's promise settles only after the commit that holds its
 * writes succeeded (or failed).
 *
 * Why no version checks: a Deno KV file belongs to one process (a second one
 * gets "database is locked"), and inside the process this queue is the only
 * writer, so operations run one after another against state no one else
 * changes. That also makes a read cache of committed values exact: values
 * this queue committed, or read while nothing else could write, are the
 * store's current values until this queue writes them again. The store's read
 * paths use that cache too ({@linkcode GroupCommit.readMany}); a value read
 * while a commit was in flight is not cached.
 *
 * Limits of one atomic commit on Deno 2.9 (measured: 100 checks, 1,000
 * mutations, 819,200 bytes of keys and values, 81,920 bytes of keys, 64 KiB
 * per value) are kept with a margin using upper-bound size estimates.
 */

/** Reads and writes of one operation inside a batch. */
export interface KvTx {
  /** The value as this batch sees it, null when absent. Treat it as immutable. */
  get<T>(key: Deno.KvKey): Promise<T | null>;
  /**
   * Like `get`, for keys that are nearly always absent (a new message's client
   * id): a key the batch knows nothing about is taken as absent without a
   * read, and the commit checks that it is. If it is not, nothing of the batch
   * lands and its writes run again with real reads.
   */
  getExpectingAbsent<T>(key: Deno.KvKey): Promise<T | null>;
  set(key: Deno.KvKey, value: unknown): void;
  delete(key: Deno.KvKey): void;
}

export interface KvWrite<T> {
  /**
   * Reads, decides, then writes. It may throw (the batch goes on without its
   * writes) and must not write anything outside `tx`.
   */
  run(tx: KvTx): Promise<T> | T;
  /** Keys the operation will read, fetched in bulk with the rest of its batch. */
  prefetch?: Deno.KvKey[];
  /** Runs in a batch of its own (e.g. it lists key ranges, which do not see a batch's writes). */
  alone?: boolean;
}

export interface GroupCommitOptions {
  /** Mutations per commit (Deno KV allows 1,000; writes merged per key count once). Default 1,000. */
  maxMutations?: number;
  /** Bytes of keys per commit, as encoded (Deno KV allows 81,920). Default 80,000. */
  maxKeyBytes?: number;
  /**
   * Bytes of keys and values per commit (Deno KV allows 819,200); values are
   * estimated from above (two bytes per JSON character). Default 800,000.
   */
  maxBytes?: number;
  /** Checks per commit (Deno KV allows 100). Default 100. */
  maxChecks?: number;
  /** Operations considered for one batch. Default 500. */
  maxOperations?: number;
  /** Committed values kept in memory to spare reads. Default 10,000. */
  cacheEntries?: number;
  /** Which keys are worth caching (those that writes read back). Default: all. */
  cacheable?: (key: Deno.KvKey) => boolean;
}

/** What one commit held, for tests and the bench. */
export interface CommitStats {
  commits: number;
  operations: number;
  mutations: number;
  largestBatch: number;
}

interface Queued {
  write: KvWrite<unknown>;
  resolve(value: unknown): void;
  reject(reason: unknown): void;
  /** Set after a failed shared commit: retried in a batch of its own. */
  isolated?: boolean;
  /** Set after a commit's check failed: runs again reading what it expected absent. */
  verify?: boolean;
}

type Outcome = { ok: true; value: unknown } | { ok: false; err: unknown };

/** A batch whose operations have run: each one's outcome and their writes, merged per key. */
interface Prepared {
  taken: { op: Queued; outcome: Outcome }[];
  writes: Written[];
  /** Keys the batch took as absent without reading them: the commit checks them. */
  checks: Deno.KvKey[];
  /** The writes by key, for reads of the batch prepared while this one commits. */
  overlay: ReadonlyMap<string, Written>;
}

/** A prepared batch being committed. */
interface Committing extends Prepared {
  /**
   * Resolves with the error when the commit failed, CHECK_FAILED when a key
   * taken as absent was there, undefined when it landed.
   */
  failure: Promise<unknown>;
}

/** Deno KV's getMany reads at most 10 keys per call. */
const GET_MANY_LIMIT = 10;
/** A commit refused because a key taken as absent exists: not an error, run again. */
const CHECK_FAILED = Symbol("check failed");
const ABSENT = Symbol("absent");
type Cached = unknown | typeof ABSENT;

/** One overlay entry: the value the batch wrote, or ABSENT for a delete. */
interface Written {
  id: string;
  key: Deno.KvKey;
  value: Cached;
  keyBytes: number;
  valueBytes: number;
}

export class GroupCommit {
  private readonly queue: Queued[] = [];
  private running: Promise<void> | undefined;
  private readonly cache = new Map<string, Cached>();
  /**
   * Bumped when a commit starts and when it ends: a value read outside the
   * queue joins the cache only if no commit overlapped the read.
   */
  private epoch = 0;
  private readonly options: Required<GroupCommitOptions>;
  readonly stats: CommitStats = { commits: 0, operations: 0, mutations: 0, largestBatch: 0 };

  constructor(private readonly kv: Deno.Kv, options: GroupCommitOptions = {}) {
    this.options = {
      maxMutations: 1_000,
      maxKeyBytes: 80_000,
      maxBytes: 800_000,
      maxChecks: 100,
      maxOperations: 500,
      cacheEntries: 10_000,
      cacheable: () => true,
      ...options,
    };
  }

  /** Queues a write; settles after the commit that holds it. */
  submit<T>(write: KvWrite<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ write, resolve: resolve as (value: unknown) => void, reject });
      if (!this.running) this.running = this.drain();
    });
  }

  /**
   * Committed values of `keys` (null when absent), from the cache where it
   * has them: for the store's read paths. Cacheable values read from the
   * store join the cache. Treat the values as immutable.
   */
  async readMany<T>(keys: Deno.KvKey[]): Promise<(T | null)[]> {
    const values = new Array<T | null>(keys.length);
    const missing: number[] = [];
    keys.forEach((key, i) => {
      const id = keyId(key);
      const cached = this.cache.get(id);
      if (cached === undefined) return void missing.push(i);
      this.cache.delete(id); // most recently used last
      this.cache.set(id, cached);
      values[i] = cached === ABSENT ? null : cached as T;
    });
    if (missing.length === 0) return values;
    const epoch = this.epoch;
    const chunks: number[][] = [];
    for (let i = 0; i < missing.length; i += GET_MANY_LIMIT) {
      chunks.push(missing.slice(i, i + GET_MANY_LIMIT));
    }
    const results = await Promise.all(
      chunks.map((chunk) => this.kv.getMany<T[]>(chunk.map((i) => keys[i]!))),
    );
    const fresh = this.epoch === epoch;
    chunks.forEach((chunk, c) => {
      chunk.forEach((i, j) => {
        const value = results[c]![j]!.value;
        values[i] = value === null ? null : deepFreeze(value);
        const id = keyId(keys[i]!);
        if (fresh && this.options.cacheable(keys[i]!) && !this.cache.has(id)) {
          this.cache.set(id, value === null ? ABSENT : values[i]);
        }
      });
    });
    this.trimCache();
    return values;
  }

  /** Resolves once every queued write has settled. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /**
   * Pipelined: while one batch commits, the next one is prepared (its reads
   * see the committing batch's writes), and its commit starts as soon as the
   * first one lands, before the first one's callers run. The store and the
   * JavaScript thread work at the same time instead of taking turns.
   */
  private async drain(): Promise<void> {
    try {
      // Let the writes of the current tick join the first batch.
      await Promise.resolve();
      let committing: Committing | undefined;
      while (this.queue.length > 0 || committing) {
        let next: Prepared | undefined;
        // A write that lists key ranges (alone) or is retried on its own must see every
        // earlier batch committed: it is prepared only when nothing is in flight.
        const head = this.queue[0];
        if (head && !(committing && (head.isolated || head.write.alone))) {
          const candidates = this.takeCandidates();
          try {
            next = await this.prepare(candidates, committing?.overlay);
          } catch (err) {
            // Not a write's own failure (prepare handles those): e.g. the store was closed.
            for (const op of candidates) op.reject(err);
          }
        }
        if (!committing) {
          if (next) committing = this.commit(next);
          continue;
        }
        const failure = await committing.failure;
        const landed = committing;
        committing = undefined;
        if (failure !== undefined) {
          this.recover(landed, failure, next);
          continue;
        }
        if (next) committing = this.commit(next);
        this.settle(landed);
      }
    } finally {
      // Synchronously after the last look at the queue: a later submit starts a new drain.
      this.running = undefined;
    }
  }

  private takeCandidates(): Queued[] {
    const first = this.queue[0]!;
    if (first.isolated || first.write.alone) return this.queue.splice(0, 1);
    let n = 1;
    while (n < this.queue.length && n < this.options.maxOperations) {
      const op = this.queue[n]!;
      if (op.isolated || op.write.alone) break;
      n++;
    }
    return this.queue.splice(0, n);
  }

  /** Runs the candidates' operations over `below` (the batch in flight, if any) until one does not fit. */
  private async prepare(
    candidates: Queued[],
    below: ReadonlyMap<string, Written> | undefined,
  ): Promise<Prepared> {
    const tx = new BatchTx(this.kv, this.cache, this.options.cacheable, below);
    await tx.prefetch(candidates.flatMap((op) => op.write.prefetch ?? []));
    const taken: Prepared["taken"] = [];
    for (let i = 0; i < candidates.length; i++) {
      const op = candidates[i]!;
      const mark = tx.mark();
      tx.verifying = op.verify === true;
      try {
        const value = await op.write.run(tx);
        if (taken.length > 0 && this.overBudget(tx)) {
          // This one does not fit: it and the rest go first in the next batch.
          tx.rollback(mark);
          this.queue.unshift(...candidates.slice(i));
          break;
        }
        taken.push({ op, outcome: { ok: true, value } });
      } catch (err) {
        tx.rollback(mark);
        taken.push({ op, outcome: { ok: false, err } });
      }
    }
    return { taken, writes: tx.writes(), checks: tx.checkedKeys(), overlay: tx.overlayView() };
  }

  private commit(batch: Prepared): Committing {
    if (batch.writes.length === 0) return { ...batch, failure: Promise.resolve(undefined) };
    const atomic = this.kv.atomic();
    for (const key of batch.checks) atomic.check({ key, versionstamp: null });
    for (const w of batch.writes) {
      if (w.value === ABSENT) atomic.delete(w.key);
      else atomic.set(w.key, w.value);
    }
    this.epoch++;
    const failure = atomic.commit().then(
      (res) => res.ok ? undefined : CHECK_FAILED,
      (err: unknown) => err ?? new Error("Deno KV commit failed"),
    );
    return { ...batch, failure };
  }

  /** A commit landed: its values join the cache, its callers get their answers. */
  private settle(batch: Prepared): void {
    if (batch.writes.length > 0) {
      this.remember(batch.writes);
      this.stats.commits++;
      this.stats.mutations += batch.writes.length;
    }
    this.trimCache();
    this.stats.operations += batch.taken.length;
    this.stats.largestBatch = Math.max(this.stats.largestBatch, batch.taken.length);
    for (const { op, outcome } of batch.taken) {
      if (outcome.ok) op.resolve(outcome.value);
      else op.reject(outcome.err);
    }
  }

  /**
   * A commit failed: nothing of it landed. A lone write fails; the writes of a
   * shared commit are retried one by one, so one bad write does not fail its
   * neighbours. A batch prepared on top of it is prepared again.
   */
  private recover(failed: Prepared, err: unknown, next: Prepared | undefined): void {
    this.epoch++;
    const again = next ? next.taken.map(({ op }) => op) : [];
    if (err === CHECK_FAILED) {
      // A key taken as absent exists (e.g. a resent client id): read it this time.
      for (const { op } of failed.taken) op.verify = true;
      this.queue.unshift(...failed.taken.map(({ op }) => op), ...again);
      return;
    }
    if (failed.taken.length === 1) {
      failed.taken[0]!.op.reject(err);
    } else {
      for (const { op } of failed.taken) op.isolated = true;
      again.unshift(...failed.taken.map(({ op }) => op));
    }
    this.queue.unshift(...again);
  }

  private overBudget(tx: BatchTx): boolean {
    const { mutations, checks, keyBytes, bytes } = tx.totals();
    const o = this.options;
    return mutations > o.maxMutations || checks > o.maxChecks || keyBytes > o.maxKeyBytes ||
      bytes > o.maxBytes;
  }

  /** Committed values become the cache's, newest last; the oldest are evicted. */
  private remember(writes: Written[]): void {
    this.epoch++;
    const { cacheable } = this.options;
    for (const w of writes) {
      if (!cacheable(w.key)) continue;
      this.cache.delete(w.id);
      this.cache.set(w.id, w.value);
    }
  }

  private trimCache(): void {
    const excess = this.cache.size - this.options.cacheEntries;
    if (excess <= 0) return;
    let n = 0;
    for (const id of this.cache.keys()) {
      if (n++ >= excess) break;
      this.cache.delete(id);
    }
  }
}

/** The batch's view: its own writes over the committing batch's over the cache over the store. */
class BatchTx implements KvTx {
  private readonly overlay = new Map<string, Written>();
  /** What this batch read from the store, cacheable or not. */
  private readonly reads = new Map<string, Cached>();
  /** Keys taken as absent without a read: checked by the commit. */
  private readonly checks = new Map<string, Deno.KvKey>();
  /** Undo log, to roll an operation back: each write with the entry it replaced, each check. */
  private readonly undo: ({ id: string; previous: Written | undefined } | { check: string })[] = [];
  private keyBytes = 0;
  private bytes = 0;
  /** The running operation reads what it would otherwise take as absent. */
  verifying = false;

  constructor(
    private readonly kv: Deno.Kv,
    private readonly cache: Map<string, Cached>,
    private readonly cacheable: (key: Deno.KvKey) => boolean,
    /** The writes of the batch being committed meanwhile: they shadow the store. */
    private readonly below: ReadonlyMap<string, Written> | undefined,
  ) {}

  async prefetch(keys: Deno.KvKey[]): Promise<void> {
    const missing = new Map<string, Deno.KvKey>();
    for (const key of keys) {
      const id = keyId(key);
      // A key the committing batch writes is never read from the store (it may not show yet).
      if (this.below?.has(id) || this.cache.has(id) || this.reads.has(id)) continue;
      missing.set(id, key);
    }
    const list = [...missing.values()];
    const chunks: Deno.KvKey[][] = [];
    for (let i = 0; i < list.length; i += GET_MANY_LIMIT) {
      chunks.push(list.slice(i, i + GET_MANY_LIMIT));
    }
    const results = await Promise.all(chunks.map((chunk) => this.kv.getMany(chunk)));
    for (const entries of results) {
      for (const entry of entries) this.cacheRead(entry.key, keyId(entry.key), entry.value);
    }
  }

  async get<T>(key: Deno.KvKey): Promise<T | null> {
    const id = keyId(key);
    const written = this.overlay.get(id) ?? this.below?.get(id);
    if (written) return written.value === ABSENT ? null : written.value as T;
    const known = this.reads.has(id) ? this.reads.get(id) : this.cache.get(id);
    if (known !== undefined) return known === ABSENT ? null : known as T;
    const entry = await this.kv.get<T>(key);
    this.cacheRead(key, id, entry.value);
    return entry.value;
  }

  async getExpectingAbsent<T>(key: Deno.KvKey): Promise<T | null> {
    const id = keyId(key);
    const known = this.overlay.get(id) ?? this.below?.get(id);
    if (known) return known.value === ABSENT ? null : known.value as T;
    if (this.verifying || this.reads.has(id) || this.cache.has(id)) return await this.get<T>(key);
    if (!this.checks.has(id)) {
      this.checks.set(id, key);
      this.undo.push({ check: id });
      const size = keyBytes(key);
      this.keyBytes += size;
      this.bytes += size;
    }
    return null;
  }

  set(key: Deno.KvKey, value: unknown): void {
    this.write(key, deepFreeze(value));
  }

  delete(key: Deno.KvKey): void {
    this.write(key, ABSENT);
  }

  private write(key: Deno.KvKey, value: Cached): void {
    const id = keyId(key);
    const previous = this.overlay.get(id);
    const entry: Written = {
      id,
      key,
      value,
      keyBytes: previous?.keyBytes ?? keyBytes(key),
      valueBytes: value === ABSENT ? 0 : valueBytes(value),
    };
    this.undo.push({ id, previous });
    this.overlay.set(id, entry);
    this.keyBytes += entry.keyBytes - (previous?.keyBytes ?? 0);
    this.bytes += entry.keyBytes + entry.valueBytes -
      (previous ? previous.keyBytes + previous.valueBytes : 0);
  }

  mark(): number {
    return this.undo.length;
  }

  rollback(mark: number): void {
    while (this.undo.length > mark) {
      const step = this.undo.pop()!;
      if ("check" in step) {
        const size = keyBytes(this.checks.get(step.check)!);
        this.keyBytes -= size;
        this.bytes -= size;
        this.checks.delete(step.check);
        continue;
      }
      const { id, previous } = step;
      const current = this.overlay.get(id)!;
      this.keyBytes -= current.keyBytes - (previous?.keyBytes ?? 0);
      this.bytes -= current.keyBytes + current.valueBytes -
        (previous ? previous.keyBytes + previous.valueBytes : 0);
      if (previous) this.overlay.set(id, previous);
      else this.overlay.delete(id);
    }
  }

  totals(): { mutations: number; checks: number; keyBytes: number; bytes: number } {
    return {
      mutations: this.overlay.size,
      checks: this.checks.size,
      keyBytes: this.keyBytes,
      bytes: this.bytes,
    };
  }

  checkedKeys(): Deno.KvKey[] {
    return [...this.checks.values()];
  }

  writes(): Written[] {
    return [...this.overlay.values()];
  }

  overlayView(): ReadonlyMap<string, Written> {
    return this.overlay;
  }

  private cacheRead(key: Deno.KvKey, id: string, value: unknown): void {
    const known = value === null ? ABSENT : deepFreeze(value);
    this.reads.set(id, known);
    // Reads are committed state too; they join the cache without evicting written entries first.
    if (this.cacheable(key) && !this.cache.has(id)) this.cache.set(id, known);
  }
}

/** A map key for a KV key: each part tagged and length-prefixed, so no two keys collide. */
function keyId(key: Deno.KvKey): string {
  let id = "";
  for (const part of key) {
    if (typeof part === "string") id += `s${part.length}:${part}`;
    else if (part instanceof Uint8Array) id += `u${part.length}:${part.join(",")};`;
    else id += `${typeof part}:${String(part)};`;
  }
  return id;
}

/** ASCII without NUL: one byte per character in a key, nothing escaped. */
// deno-lint-ignore no-control-regex -- NUL (escaped in keys) is exactly what it must exclude
const ASCII_WITHOUT_NUL = /^[\x01-\x7f]*$/;

/** Encoded length of a key string: UTF-8, with NUL escaped as two bytes. */
function encodedLength(s: string): number {
  if (ASCII_WITHOUT_NUL.test(s)) return s.length;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    n += c === 0 ? 2 : c < 0x80 ? 1 : c < 0x800 ? 2 : 3; // a surrogate pair counts 3 + 3 ≥ 4
  }
  return n;
}

/**
 * Upper bound of a key's encoded size: a string or byte part is a tag, its
 * escaped bytes and a terminator; numbers and bigints take at most 10 bytes here.
 */
function keyBytes(key: Deno.KvKey): number {
  let n = 0;
  for (const part of key) {
    if (typeof part === "string") n += encodedLength(part) + 2;
    else if (part instanceof Uint8Array) n += 2 * part.length + 2;
    else n += 10;
  }
  return n;
}

/** Upper bound of a value's V8-serialized size (two bytes per character covers two-byte strings). */
function valueBytes(value: unknown): number {
  if (typeof value === "number" || typeof value === "boolean") return 10;
  if (typeof value === "string") return 2 * value.length + 10;
  return 2 * (JSON.stringify(value)?.length ?? 0) + 32;
}

/** Values shared through the cache must never change under a reader. */
function deepFreeze<T>(value: T): T {
  if (
    value !== null && typeof value === "object" && !Object.isFrozen(value) &&
    !ArrayBuffer.isView(value)
  ) {
    Object.freeze(value);
    for (const v of Object.values(value)) deepFreeze(v);
  }
  return value;
}
