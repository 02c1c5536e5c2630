/**
 * Every start-up failure a first run meets is one line on the output and exit code 1: the
 * process (`deno run main.ts`) is started against a port in use, an unwritable data
 * directory, a MongoDB that refuses, does not resolve, never answers or refuses the
 * credentials, and a Redis that refuses or wants a password. No stack frame may appear,
 * also not inside a JSON log field.
 */
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { TEST_SECRET } from "./helpers/server.ts";
import { freePort, REDIS_SERVER } from "./cluster/harness.ts";

const MAIN = new URL("../main.ts", import.meta.url).pathname;
const MONGODB_URI = Deno.env.get("MONGODB_URI");

interface Exit {
  code: number;
  output: string;
}

/** Runs main.ts until it exits (at most 30 s) and returns its code and everything it wrote. */
async function runToExit(env: Record<string, string>): Promise<Exit> {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN],
    env: {
      PORT: "0",
      JWT_SECRET: TEST_SECRET,
      LOG_LEVEL: "info",
      MONGODB_URI: "",
      REDIS_URL: "",
      SQLITE_PATH: ":memory:",
      UPLOAD_DIR: Deno.makeTempDirSync({ prefix: "parley-startup-" }),
      NO_COLOR: "1",
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const killer = setTimeout(() => child.kill("SIGKILL"), 30_000);
  const { code, stdout, stderr } = await child.output();
  clearTimeout(killer);
  const decode = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
  return { code, output: decode(stdout) + decode(stderr) };
}

/** Exit code 1, exactly one line matching `line`, no stack frame anywhere. */
function assertOneLine(exit: Exit, line: RegExp): void {
  const lines = exit.output.split("\n").filter((text) => text.trim() !== "");
  assertEquals(exit.code, 1, exit.output);
  assertEquals(lines.length, 1, `one line expected:\n${exit.output}`);
  assertMatch(lines[0]!, line);
  assert(!/\bat \S+ \(|\\n\s+at /.test(exit.output), `stack frame in:\n${exit.output}`);
}

/**
 * A TCP port that accepts connections and never answers (a firewall that drops, a hung
 * server); closed with the connections it holds when its `using` scope ends.
 */
function silentPort(): { port: number } & Disposable {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const held: Deno.Conn[] = [];
  (async () => {
    for await (const conn of listener) held.push(conn);
  })().catch(() => {});
  return {
    port: (listener.addr as Deno.NetAddr).port,
    [Symbol.dispose]() {
      listener.close();
      for (const conn of held) conn.close();
    },
  };
}

Deno.test("start-up: a port in use is one line naming the port and PORT", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  assertOneLine(
    await runToExit({ PORT: String(port) }),
    new RegExp(`^port ${port} is in use: set PORT$`),
  );
});

Deno.test("start-up: a data directory that cannot be written names it and its variable", async () => {
  // A regular file where a directory should be: refused for root too (chmod is not).
  const file = await Deno.makeTempFile({ prefix: "parley-not-a-dir-" });
  try {
    const [sqlite, uploads] = await Promise.all([
      runToExit({ SQLITE_PATH: `${file}/parley.db` }),
      runToExit({ UPLOAD_DIR: `${file}/uploads` }),
    ]);
    assertOneLine(
      sqlite,
      new RegExp(`^the data directory ${file} is not writable: .+ \\(set SQLITE_PATH\\)$`),
    );
    assertOneLine(
      uploads,
      new RegExp(`^the data directory ${file}/uploads is not writable: .+ \\(set UPLOAD_DIR\\)$`),
    );
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("start-up: an unreachable MongoDB names host, port and cause", async (t) => {
  const closed = freePort();
  using silent = silentPort();
  const [refused, dns, timeout] = await Promise.all([
    runToExit({ MONGODB_URI: `mongodb://user:hidden@127.0.0.1:${closed}/` }),
    runToExit({ MONGODB_URI: "mongodb://no-such-host.invalid:27017/" }),
    runToExit({ MONGODB_URI: `mongodb://127.0.0.1:${silent.port}/` }),
  ]);
  await t.step("connection refused", () => {
    assertOneLine(
      refused,
      new RegExp(
        `^MongoDB at 127\\.0\\.0\\.1:${closed} is unreachable: connection refused \\(set MONGODB_URI\\)$`,
      ),
    );
    assert(!refused.output.includes("hidden"), "the password is never printed");
  });
  await t.step("name not found", () => {
    assertOneLine(
      dns,
      /^MongoDB at no-such-host\.invalid:27017 is unreachable: host name not found \(DNS\)/,
    );
  });
  await t.step("no answer", () => {
    assertOneLine(
      timeout,
      new RegExp(`^MongoDB at 127\\.0\\.0\\.1:${silent.port} is unreachable: timed out`),
    );
  });
});

Deno.test({
  name: "start-up: MongoDB refusing the credentials says so",
  ignore: !MONGODB_URI,
  async fn() {
    const url = new URL(MONGODB_URI!);
    url.username = "nobody";
    url.password = "wrong-password";
    const exit = await runToExit({ MONGODB_URI: url.href });
    assertOneLine(
      exit,
      new RegExp(`^MongoDB at ${url.host} refused the credentials: authentication failed`),
    );
    assert(!exit.output.includes("wrong-password"), "the password is never printed");
  },
});

Deno.test({
  name: "start-up: an unreachable Redis names host, port and cause",
  ignore: !MONGODB_URI || !REDIS_SERVER,
  async fn(t) {
    const closed = freePort();
    const locked = freePort();
    // A child process's await using stops it with SIGTERM and awaits its exit.
    await using _redis = new Deno.Command(REDIS_SERVER!, {
      args: ["--port", String(locked), "--bind", "127.0.0.1", "--save", "", "--requirepass", "x"],
      stdout: "null",
      stderr: "null",
    }).spawn();
    await waitForPort(locked);
    const env = { MONGODB_URI: MONGODB_URI!, MONGODB_DB: `parley_startup_${Date.now()}` };
    const [refused, noPassword] = await Promise.all([
      runToExit({ ...env, REDIS_URL: `redis://127.0.0.1:${closed}` }),
      runToExit({ ...env, REDIS_URL: `redis://127.0.0.1:${locked}` }),
    ]);
    await t.step("connection refused", () => {
      assertOneLine(
        refused,
        new RegExp(
          `^Redis at 127\\.0\\.0\\.1:${closed} is unreachable: connection refused \\(set REDIS_URL\\)$`,
        ),
      );
    });
    await t.step("a password is wanted", () => {
      assertOneLine(
        noPassword,
        new RegExp(`^Redis at 127\\.0\\.0\\.1:${locked} is unreachable: authentication failed`),
      );
    });
  },
});

async function waitForPort(port: number): Promise<void> {
  for (let tries = 0; tries < 100; tries++) {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  throw new Error(`nothing listens on ${port}`);
}
