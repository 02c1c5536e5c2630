/**
 * A MongoDB outage, for real: the test runs its own MongoDB-compatible server
 * (scripts/mongo-test-server.sh), kills it, and starts it again on the same port.
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { collect, settle } from "./helpers/events.ts";
import { delay, MONGODB_URI, startTestServer } from "./helpers/server.ts";
import { freePort } from "./helpers/ports.ts";
import { tempDir } from "./helpers/temp_dir.ts";

const SCRIPT = new URL("../scripts/mongo-test-server.sh", import.meta.url).pathname;

async function startMongo(binary: string, port: number, dataDir: string) {
  const child = new Deno.Command(binary, {
    args: ["-port", String(port), "-data-dir", dataDir],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  while (!out.includes("MONGODB_URI=")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("mongo test server exited before it was ready");
    out += value;
  }
  reader.releaseLock();
  child.stdout.cancel().catch(() => {});
  return child;
}

Deno.test({
  name:
    "a MongoDB outage: readyz 503, sends refused quickly with STORE_UNAVAILABLE, recovery without restart",
  // Runs wherever the MongoDB-compatible test server can be built (CI does).
  ignore: !MONGODB_URI,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const build = await new Deno.Command("bash", { args: [SCRIPT, "build"], stderr: "null" })
      .output();
    assert(build.success, "mongo test server builds");
    const binary = new TextDecoder().decode(build.stdout).trim();
    await using dataDir = await tempDir("parley-outage-");
    const port = freePort();
    let mongo = await startMongo(binary, port, dataDir.path);
    // Whichever MongoDB runs at the end is stopped once the server has closed.
    await using stopMongo = new AsyncDisposableStack();
    stopMongo.defer(async () => {
      mongo.kill("SIGTERM");
      await mongo.status;
    });
    await using server = await startTestServer({
      MONGODB_URI: `mongodb://127.0.0.1:${port}/`,
      MONGODB_DB: "outage",
    });
    const alice = await server.connect("alice");
    const bob = await server.connect("bob");
    const before = await alice.timeout(5000).emitWithAck("sendMessage", {
      receiverId: "bob",
      text: "before",
    });
    assert(before.ok);
    assertEquals((await fetch(`${server.url}/readyz`)).status, 200);

    mongo.kill("SIGKILL");
    await mongo.status;

    const ready = await fetch(`${server.url}/readyz`);
    assertEquals(ready.status, 503);
    assertEquals((await ready.json()).code, "STORE_UNAVAILABLE");
    assertEquals((await fetch(`${server.url}/healthz`)).status, 200);

    const bobGot = collect(bob, "receiveMessage");
    const started = Date.now();
    const during = await alice.timeout(15000).emitWithAck("sendMessage", {
      receiverId: "bob",
      text: "during",
    });
    const took = Date.now() - started;
    assert(!during.ok, "refused while the store is down");
    assertEquals(during.code, "STORE_UNAVAILABLE");
    assert(took < 8000, `answered within the store timeout (took ${took} ms)`);
    await settle(bob);
    assertEquals(bobGot.stop(), [], "nothing reaches the receiver");

    mongo = await startMongo(binary, port, dataDir.path);
    let after;
    for (let i = 0; i < 40; i++) {
      after = await alice.timeout(15000).emitWithAck("sendMessage", {
        receiverId: "bob",
        text: "after",
      });
      if (after.ok) break;
      await delay(250);
    }
    assert(after?.ok, `recovered: ${JSON.stringify(after)}`);
    assertEquals((await fetch(`${server.url}/readyz`)).status, 200);
    const history = await (await server.api("bob", "/api/chats/history/alice")).json();
    assertEquals(history.map((m: { text: string }) => m.text), ["before", "after"]);
  },
});
