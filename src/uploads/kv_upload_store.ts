/**
 * Uploads with the embedded store: bytes in a local directory, records in the
 * same Deno KV file as the chat (their own keys).
 *
 * Keys:
 *   ["upload", id]                          → UploadRecord
 *   ["upload_unsent", createdAtMs, id]      → true   retention sweep, oldest first
 *   ["upload_ref", id, messageId]           → receiverId
 * Files: `<dir>/tmp/<id>` while arriving, then `<dir>/<last 2 chars of id>/<id>`.
 *
 * A file is written and synced to `tmp/`, then the record is committed, then
 * the file is renamed into place: a crash leaves at most a file in `tmp/`
 * (removed at the next start once an hour old) or a record whose bytes are
 * missing (answered 404, swept with the unsent ones).
 */
import { dirname, join } from "node:path";
import {
  byteLimit,
  type ByteRange,
  type NewUpload,
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

  async create(
    upload: NewUpload,
    body: ReadableStream<Uint8Array>,
    maxBytes: number,
  ): Promise<UploadRecord> {
    await Deno.mkdir(this.tempDir, { recursive: true });
    const temp = join(this.tempDir, upload._id);
    const limit = byteLimit(maxBytes);
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
      const committed = await this.kv.atomic()
        .check({ key: ["upload", record._id], versionstamp: null })
        .set(["upload", record._id], record)
        .set(unsentKey(record), true)
        .commit();
      if (!committed.ok) throw new Error(`upload id ${record._id} already exists`);
    } catch (err) {
      await removeQuietly(temp);
      throw err;
    }
    try {
      await Deno.rename(temp, final);
    } catch (err) {
      await this.kv.atomic().delete(["upload", record._id]).delete(unsentKey(record)).commit();
      await removeQuietly(temp);
      throw err;
    }
    return record;
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
      const committed = await this.kv.atomic()
        .check(entry)
        .delete(entry.key)
        .delete(unsentKey(entry.value))
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
