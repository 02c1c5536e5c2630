/**
 * /metrics process figures are the process's own, also under the permissions the Dockerfile
 * and `deno task start` grant (not `--allow-all`, under which prom-client's /proc reads
 * fail and used to report 0). The server runs as a child process; this test (with
 * `--allow-all`) reads the child's /proc entries to compare.
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { TEST_SECRET } from "./helpers/server.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const START_FLAGS = [
  "--allow-net",
  "--allow-env",
  "--allow-read",
  "--allow-write",
  "--allow-sys",
];

/** `await using` stops it with SIGTERM and waits for its exit. */
interface Child extends AsyncDisposable {
  url: string;
  process: Deno.ChildProcess;
}

async function startChild(flags: string[]): Promise<Child> {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, MAIN],
    env: {
      PORT: "0",
      JWT_SECRET: TEST_SECRET,
      MONGODB_URI: "",
      SQLITE_PATH: ":memory:",
      UPLOAD_DIR: Deno.makeTempDirSync({ prefix: "parley-metrics-" }),
      LOG_LEVEL: "info",
    },
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let text = "";
  const reader = process.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    const match = text.match(/"msg":"parley listening","url":"([^"]+)"/);
    if (match) {
      // Keep draining so that the child never blocks on a full pipe.
      (async () => {
        while (!(await reader.read()).done) { /* discard */ }
      })().catch(() => {});
      return {
        url: match[1]!,
        process,
        [Symbol.asyncDispose]: async () => {
          process.kill("SIGTERM");
          await process.status;
        },
      };
    }
  }
  process.kill("SIGKILL");
  throw new Error(`server did not start:\n${text}`);
}

async function scrape(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const values = new Map<string, number>();
  for (const line of text.split("\n")) {
    const match = line.match(/^(parley_process_\w+) (\S+)$/);
    if (match) values.set(match[1]!, Number(match[2]));
  }
  return values;
}

/** VmRSS of `pid` in bytes, from its /proc/<pid>/status. */
function residentBytes(pid: number): number {
  const line = Deno.readTextFileSync(`/proc/${pid}/status`).split("\n")
    .find((l) => l.startsWith("VmRSS:"));
  return Number(line?.match(/(\d+) kB/)?.[1]) * 1024;
}

Deno.test("/metrics: resident memory and heap are the process's own under start's permissions", async () => {
  await using child = await startChild(START_FLAGS);
  const values = await scrape(child.url);
  const reported = values.get("parley_process_resident_memory_bytes") ?? 0;
  const actual = residentBytes(child.process.pid);
  assert(reported > 0, `resident memory reported: ${reported}`);
  assert(
    Math.abs(reported - actual) < actual * 0.25,
    `reported ${reported} B, /proc says ${actual} B`,
  );
  assert((values.get("parley_process_heap_bytes") ?? 0) > 1024 * 1024, "heap above 1 MiB");
  assertEquals(
    values.has("parley_process_open_fds"),
    false,
    "open fds cannot be counted without --allow-all: left out, not reported as 0",
  );
  assertEquals(values.has("parley_process_virtual_memory_bytes"), false);
});

Deno.test("/metrics: open file descriptors are counted when the process may read /proc", async () => {
  await using child = await startChild(["--allow-all"]);
  const before = (await scrape(child.url)).get("parley_process_open_fds") ?? 0;
  const actual = [...Deno.readDirSync(`/proc/${child.process.pid}/fd`)].length;
  assert(before > 0 && Math.abs(before - actual) <= 3, `reported ${before}, /proc has ${actual}`);
  // Ten more connections held open are ten more descriptors in the server.
  const held = await Promise.all(
    Array.from(
      { length: 10 },
      () => Deno.connect({ hostname: "127.0.0.1", port: Number(new URL(child.url).port) }),
    ),
  );
  await new Promise((resolve) => setTimeout(resolve, 200));
  const after = (await scrape(child.url)).get("parley_process_open_fds") ?? 0;
  for (const conn of held) conn.close();
  assert(after >= before + 10, `before ${before}, with 10 more connections ${after}`);
});
