/**
 * Before the SQLite store opens: the directories it writes to exist (created if need be) and
 * take a new file. Checked up front because the store finds out late and far from the
 * setting (inside a database worker, or at the first upload), while here the failure can
 * name the variable and the directory.
 */
import { dirname } from "node:path";
import type { Config } from "./config.ts";
import { StartupError } from "./startup_errors.ts";

const REASONS: [new (...args: never[]) => Error, string][] = [
  [Deno.errors.PermissionDenied, "permission denied"],
  [Deno.errors.NotADirectory, "a part of the path is a file, not a directory"],
  [Deno.errors.AlreadyExists, "a part of the path is a file, not a directory"],
];

function reasonOf(err: unknown): string {
  const known = REASONS.find(([type]) => err instanceof type);
  if (known) return known[1];
  const message = err instanceof Error ? err.message : String(err);
  // "Read-only file system (os error 30): open '…'" → "read-only file system"
  return message.replace(/ \(os error \d+\).*$/s, "").toLowerCase();
}

/** Creates `dir` if missing and writes (then removes) a file in it; throws StartupError. */
async function checkWritable(dir: string, variable: string): Promise<void> {
  const probe = `${dir}/.parley-write-check-${crypto.randomUUID()}`;
  try {
    await Deno.mkdir(dir, { recursive: true });
    await Deno.writeTextFile(probe, "");
    await Deno.remove(probe);
  } catch (err) {
    throw new StartupError(
      `the data directory ${dir} is not writable: ${reasonOf(err)} (set ${variable})`,
    );
  }
}

/** SQLite's file and upload directories, when SQLite is the store; MongoDB needs neither. */
export async function checkDataDirectories(config: Config): Promise<void> {
  if (config.store.kind !== "sqlite") return;
  if (config.store.path !== ":memory:") {
    await checkWritable(dirname(config.store.path), "SQLITE_PATH");
  }
  await checkWritable(config.uploads.dir, "UPLOAD_DIR");
}
