/** Parley as a real child process (`deno run main.ts`), for crash and shutdown tests. */
import { TEST_SECRET } from "./server.ts";

const MAIN = new URL("../../main.ts", import.meta.url).pathname;

/** `await using` kills it (if still running) and waits for its exit. */
export interface ChildServer extends AsyncDisposable {
  url: string;
  process: Deno.ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
}

export async function spawnServer(env: Record<string, string>): Promise<ChildServer> {
  const process = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", MAIN],
    env: {
      PORT: "0",
      JWT_SECRET: TEST_SECRET,
      LOG_LEVEL: "info",
      PRESENCE_GRACE_MS: "50",
      RATE_LIMITS: "off",
      // The child runs on SQLite unless the test says otherwise, whatever this process has.
      MONGODB_URI: "",
      ...env,
    },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) text += chunk;
  };
  void pump(process.stdout);
  void pump(process.stderr);
  const deadline = Date.now() + 15_000;
  while (true) {
    const match = text.match(/"msg":"parley listening","url":"([^"]+)"/);
    if (match) {
      return {
        url: match[1]!,
        process,
        output: () => text,
        [Symbol.asyncDispose]: () => killed(process),
      };
    }
    if (Date.now() > deadline) {
      process.kill("SIGKILL");
      throw new Error(`server did not start:\n${text}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Kills the process unless it already exited, and waits for its exit. */
async function killed(process: Deno.ChildProcess): Promise<void> {
  try {
    process.kill("SIGKILL");
  } catch {
    // Already exited.
  }
  await process.status;
}
