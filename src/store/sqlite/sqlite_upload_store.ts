/**
 * Uploads with the SQLite backend: bytes in a local directory (`UPLOAD_DIR`),
 * records, references and each owner's usage in the database (schema.ts).
 * Files: `<dir>/tmp/<id>` while arriving, then `<dir>/<last 2 chars of id>/<id>`.
 *
 * A file is written and synced to `tmp/`, then the record is committed, then
 * the file is renamed into place: a crash leaves at most a file in `tmp/`
 * (removed at the next start once an hour old) or a record whose bytes are
 * missing (answered 404, swept with the unsent ones). The owner's usage
 * changes in the same transaction as the record, so it cannot drift, and the
 * single writer checks it there: concurrent uploads of one owner fit the
 * quota together.
 */
import { dirname, join } from "node:path";
import {
  byteLimit,
  type ByteRange,
  type NewUpload,
  type UploadLimits,
  type UploadRecord,
  type UploadReference,
  type UploadStore,
} from "../upload_store.ts";
import type { ForwardPage } from "../repository.ts";
import type { SqliteConnection } from "./connection.ts";

/** A file left in tmp/ this long belongs to no running upload. */
const STALE_TEMP_MS = 3_600_000;
const READ_CHUNK = 64 * 1024;

export class SqliteUploadStore implements UploadStore {
  private readonly tempDir: string;

  constructor(private readonly db: SqliteConnection, private readonly dir: string) {
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
      await this.db.write("createUpload", { record, quotaBytes: limits.quotaBytes });
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

  usage(ownerId: string): Promise<number> {
    return this.db.read("uploadUsage", { ownerId });
  }

  get(id: string): Promise<UploadRecord | null> {
    return this.db.read("getUpload", { id });
  }

  references(id: string): Promise<UploadReference[]> {
    return this.db.read("uploadReferences", { id });
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

  attach(id: string, reference: UploadReference): Promise<boolean> {
    return this.db.write("attachUpload", { id, reference });
  }

  detach(id: string, reference: UploadReference): Promise<number> {
    return this.db.write("detachUpload", { id, reference });
  }

  async deleteIfUnreferenced(id: string): Promise<boolean> {
    if (!await this.db.write("deleteUploadIfUnreferenced", { id })) return false;
    await removeQuietly(this.pathOf(id));
    await removeQuietly(join(this.tempDir, id));
    return true;
  }

  unsentBefore(before: Date, limit: number): Promise<string[]> {
    return this.db.read("unsentUploadsBefore", { before: before.toISOString(), limit });
  }

  listForOwner(ownerId: string, query: ForwardPage): Promise<UploadRecord[]> {
    return this.db.read("uploadsForOwner", { ownerId, ...query });
  }

  /** Removes the files of uploads whose records are gone (an erasure committed). */
  async removeFiles(ids: readonly string[]): Promise<void> {
    for (const id of ids) {
      await removeQuietly(this.pathOf(id));
      await removeQuietly(join(this.tempDir, id));
    }
  }

  private pathOf(id: string): string {
    return join(this.dir, id.slice(-2), id);
  }
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
