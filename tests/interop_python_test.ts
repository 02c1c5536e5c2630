/**
 * Interoperability: python-socketio, a second and independent Socket.IO
 * implementation, drives a real server (tests/interop/python_client.py).
 *
 * Skipped, with a visible SKIPPED line, when `python3 -c "import socketio"`
 * fails; CI installs tests/interop/requirements.txt.
 */
import { fileURLToPath } from "node:url";
import { assertEquals } from "./helpers/assert.ts";
import { startTestServer } from "./helpers/server.ts";

const SCRIPT = fileURLToPath(new URL("./interop/python_client.py", import.meta.url));

async function pythonSocketIo(): Promise<string | undefined> {
  try {
    const { success, stderr } = await new Deno.Command("python3", {
      args: ["-c", "import socketio"],
      stdout: "null",
      stderr: "piped",
    }).output();
    if (success) return undefined;
    return new TextDecoder().decode(stderr).trim().split("\n").at(-1);
  } catch (err) {
    return `python3 did not run (${err instanceof Error ? err.message : err})`;
  }
}

const missing = await pythonSocketIo();
if (missing) {
  console.warn(
    `SKIPPED: python-socketio interop test (${missing}; ` +
      "python3 -m pip install -r tests/interop/requirements.txt)",
  );
}

Deno.test({
  name: "python-socketio client: refused token, send, receive, typing, history, read receipt",
  ignore: missing !== undefined,
  async fn() {
    await using server = await startTestServer();
    const { code, stdout, stderr } = await new Deno.Command("python3", {
      args: [SCRIPT, server.url, await server.token("alice"), await server.token("bob")],
      stdout: "piped",
      stderr: "piped",
      env: { PYTHONUNBUFFERED: "1" },
    }).output();
    const out = new TextDecoder().decode(stdout).trim();
    const diagnostics = `stdout: ${out}\nstderr: ${new TextDecoder().decode(stderr)}`;
    const result = JSON.parse(out.split("\n").at(-1) ?? "null");
    assertEquals(result?.ok, true, diagnostics);
    assertEquals(code, 0, diagnostics);
    assertEquals(result.checks, [
      "bad token refused",
      "connected with tokens",
      "send with ack",
      "receive",
      "delivery ack",
      "idempotent resend",
      "typing",
      "history",
      "read receipt",
      "validation error",
    ]);

    // What the Python clients did is what the server stored.
    const stored = await server.parley.store.messages.get(result.messageId);
    assertEquals(stored?.senderId, "alice");
    assertEquals(stored?.receiverId, "bob");
    assertEquals(stored?.text, "hello from python");
    assertEquals(typeof stored?.readAt, "string");
  },
});
