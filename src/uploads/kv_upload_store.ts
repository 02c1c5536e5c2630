/**
 * Uploads with the embedded store: bytes in a local directory, records in the
 * same Deno KV file as the chat (their own keys).
 *
 * Keys:
 *   ["upload", id]                          → UploadRecord
 *   ["upload_unsent", createdAtMs, id]      → true   retention sweep, oldest first
 *   ["upload_ref", id, messageId]           → receiverId
 *   ["upload_usage", ownerId]               → bytes of the owner's records (the quota)
 *   ["upload_usage_counted"]                → true once the counters above exist
 * Files: `<dir>/tmp/<id>` while arriving, then `<dir>/<last 2 chars of id>/<id>`.
 *
 * A file is written and synced to `tmp/`, then the record is committed, then
 * the file is renamed into place: a crash leaves at most a file in `tmp/`
 * (removed at the next start once an hour old) or a record whose bytes are
 * missing (answered 404, swept with the unsent ones). The owner's usage
 * counter changes in the same commit as the record, so it cannot drift, and
 * checking it there makes concurrent uploads of one owner fit the quota together.
 */
import { dirname, join } from "node:path";
import {
  byteLimit,
  type ByteRange,
  type NewUpload,
  quotaExceeded,
  type UploadLimits,
  type UploadRecord,
  type UploadReference,
  type UploadStore,
} from "./upload_store.ts";

/** Optimistic commits retry on conflict; more than this means something is wrong. */
const MAX_ATTEMPTS = 20;
/** A file left in tmp/ this long belongs to no running upload. */
const STALE_TEMP_MS = 3_600_000;
const READ_CHUNK = 64 * 1024;

export class KvUploadStore implements UploadStore {
  private readonly tempDir: string;

  constructor(private readonly kv: Deno.Kv, private readonly dir: string) {
    this.tempDir = join(dir, "tmp");
  }

  /** Removes what a crash left in `tmp/` (files an hour old or more). */
  async removeStaleTemp(now = Date.now()): Promise<void> {
    try {
      for await (const entry of Deno.readDir(this.tempDir)) {
        const path = join(this.tempDir, entry.name);
        const info = await Deno.stat(path);
        if (now - (info.mtime?.getTime() ?? now) >= STALE_TEMP_MS) await removeQuietly(path);
      }
    } catch (err) {
      if (!(err instanceof Deno.errors.NotFound)) throw err;
    }
  }

  /**
   * Counts the bytes of each owner's records into their usage counters, once:
   * a store from before quotas has records but no counters. Runs at start-up,
   * before any upload (one process owns the KV file); a crash midway only
   * means counting again.
   */
  async countUsageOnce(): Promise<void> {
    if ((await this.kv.get(["upload_usage_counted"])).value) return;
    const usage = new Map<string, number>();
    for await (const entry of this.kv.list<UploadRecord>({ prefix: ["upload"] })) {
      usage.set(entry.value.ownerId, (usage.get(entry.value.ownerId) ?? 0) + entry.value.size);
    }
    for (const [ownerId, bytes] of usage) await this.kv.set(usageKey(ownerId), bytes);
    await this.kv.set(["upload_usage_counted"], true);
  }

  async create(
    upload: NewUpload,
    body: ReadableStream<Uint8Array>,
    limits: UploadLimits,
  ): Promise<UploadRecord> {
    await Deno.mkdir(this.tempDir, { recursive: true });
    const temp = join(this.tempDir, upload._id);
    const limit = byteLimit(limits, limits.quotaBytes - await this.usage(upload.ownerId));
    const file = await Deno.open(temp, { write: true, createNew: true });
    try {
      // Plain writes, not `file.writable`: that one buffers until it is closed,
      // and closing it closes the file before it can be synced.
      for await (const chunk of body.pipeThrough(limit)) {
        for (let done = 0; done < chunk.byteLength;) done += await file.write(chunk.subarray(done));
      }
      await file.syncData();
    } catch (err) {
      await removeQuietly(temp);
      throw err;
    } finally {
      closeQuietly(file);
    }

    const record: UploadRecord = {
      ...upload,
      size: limit.size(),
      createdAt: new Date().toISOString(),
      sent: false,
    };
    const final = this.pathOf(upload._id);
    try {
      await Deno.mkdir(dirname(final), { recursive: true });
      await this.commitWithinQuota(record, limits.quotaBytes);
    } catch (err) {
      await removeQuietly(temp);
      throw err;
    }
    try {
      await Deno.rename(temp, final);
    } catch (err) {
      // No message carries it yet: this removes the record and gives its bytes back.
      await this.deleteIfUnreferenced(record._id);
      throw err;
    }
    return record;
  }

  async usage(ownerId: string): Promise<number> {
    return (await this.kv.get<number>(usageKey(ownerId))).value ?? 0;
  }

  /** Commits the record and adds its size to the owner's usage, if that stays within the quota. */
  private async commitWithinQuota(record: UploadRecord, quotaBytes: number): Promise<void> {
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const [usage, existing] = await this.kv.getMany<[number, UploadRecord]>([
        usageKey(record.ownerId),
        ["upload", record._id],
      ]);
      if (existing.value) throw new Error(`upload id ${record._id} already exists`);
      const used = usage.value ?? 0;
      if (used + record.size > quotaBytes) throw quotaExceeded(quotaBytes);
      // Checking the counter's versionstamp: a concurrent upload of the same
      // owner that commits first makes this one read the new total and retry.
      const committed = await this.kv.atomic()
        .check(usage, existing)
        .set(existing.key, record)
        .set(unsentKey(record), true)
        .set(usage.key, used + record.size)
        .commit();
      if (committed.ok) return;
    }
    throw new Error("Deno KV commit kept conflicting");
  }

  async get(id: string): Promise<UploadRecord | null> {
    return (await this.kv.get<UploadRecord>(["upload", id])).value;
  }

  async references(id: string): Promise<UploadReference[]> {
    const refs: UploadReference[] = [];
    for await (const entry of this.kv.list<string>({ prefix: ["upload_ref", id] })) {
      refs.push({ messageId: String(entry.key[2]), receiverId: entry.value });
    }
    return refs;
  }

  async read(id: string, range?: ByteRange): Promise<ReadableStream<Uint8Array> | null> {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(this.pathOf(id), { read: true });
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null;
      throw err;
    }
    const start = range?.start ?? 0;
    let remaining = range ? range.end - range.start + 1 : Infinity;
    try {
      if (start > 0) await file.seek(start, Deno.SeekMode.Start);
    } catch (err) {
      closeQuietly(file);
      throw err;
    }
    return new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const buffer = new Uint8Array(Math.min(READ_CHUNK, remaining));
          const read = buffer.length === 0 ? null : await file.read(buffer);
          if (read === null) {
            closeQuietly(file);
            controller.close();
            return;
          }
          remaining -= read;
          controller.enqueue(buffer.subarray(0, read));
        } catch (err) {
          closeQuietly(file);
          controller.error(err);
        }
      },
      cancel() {
        closeQuietly(file);
      },
    });
  }

  async attach(id: string, reference: UploadReference): Promise<boolean> {
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const entry = await this.kv.get<UploadRecord>(["upload", id]);
      if (!entry.value) return false;
      // Rewriting the record changes its versionstamp, which a concurrent
      // deleteIfUnreferenced checks: it cannot remove an upload just attached.
      const committed = await this.kv.atomic()
        .check(entry)
        .set(entry.key, { ...entry.value, sent: true })
        .set(["upload_ref", id, reference.messageId], reference.receiverId)
        .delete(unsentKey(entry.value))
        .commit();
      if (committed.ok) return true;
    }
    throw new Error("Deno KV commit kept conflicting");
  }

  async detach(id: string, reference: UploadReference): Promise<number> {
    await this.kv.delete(["upload_ref", id, reference.messageId]);
    return (await this.references(id)).length;
  }

  async deleteIfUnreferenced(id: string): Promise<boolean> {
    for (let i = 0; i < MAX_ATTEMPTS; i++) {
      const entry = await this.kv.get<UploadRecord>(["upload", id]);
      if (!entry.value) return false;
      const refs = this.kv.list({ prefix: ["upload_ref", id] }, { limit: 1 });
      for await (const _ of refs) return false;
      const usage = await this.kv.get<number>(usageKey(entry.value.ownerId));
      const committed = await this.kv.atomic()
        .check(entry, usage)
        .delete(entry.key)
        .delete(unsentKey(entry.value))
        .set(usage.key, (usage.value ?? 0) - entry.value.size)
        .commit();
      if (!committed.ok) continue;
      await removeQuietly(this.pathOf(id));
      await removeQuietly(join(this.tempDir, id));
      return true;
    }
    throw new Error("Deno KV commit kept conflicting");
  }

  async unsentBefore(before: Date, limit: number): Promise<string[]> {
    const ids: string[] = [];
    const entries = this.kv.list(
      { prefix: ["upload_unsent"], end: ["upload_unsent", before.getTime()] },
      { limit },
    );
    for await (const entry of entries) ids.push(String(entry.key[2]));
    return ids;
  }

  private pathOf(id: string): string {
    return join(this.dir, id.slice(-2), id);
  }
}

function usageKey(ownerId: string): Deno.KvKey {
  return ["upload_usage", ownerId];
}

function unsentKey(record: UploadRecord): Deno.KvKey {
  return ["upload_unsent", Date.parse(record.createdAt), record._id];
}

async function removeQuietly(path: string): Promise<void> {
  try {
    await Deno.remove(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

function closeQuietly(file: Deno.FsFile): void {
  try {
    file.close();
  } catch {
    // Already closed (by an aborted pipe, or at the end of a read).
  }
}
