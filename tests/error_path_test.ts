/**
 * Every refusal, REST or socket, is answered through `AppError` → `toErrorBody`
 * and counted in `parley_errors_total{code}`: each step below refuses one way,
 * checks what the client was told (unchanged wire shapes), and that /metrics
 * counted exactly that one refusal under its code.
 */
import { request } from "node:http";
import { SignJWT } from "jose";
import type { ErrorCode } from "../src/errors.ts";
import { assert, assertEquals, assertRejects } from "./helpers/assert.ts";
import { nextEvent } from "./helpers/events.ts";
import {
  clientList,
  connectClient,
  signToken,
  startTestServer,
  TEST_SECRET,
} from "./helpers/server.ts";

const ALLOWED_ORIGIN = "https://app.example.com";

/** `parley_errors_total` by code, as Prometheus would scrape it. */
async function errorCounts(url: string): Promise<Map<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const counts = new Map<string, number>();
  for (const [, code, value] of text.matchAll(/^parley_errors_total\{code="(\w+)"\} (\d+)$/gm)) {
    counts.set(code!, Number(value));
  }
  return counts;
}

/** Runs `refuse`, then checks that it added exactly one error, under `code`. */
async function countsOne(url: string, code: ErrorCode, refuse: () => Promise<void>) {
  const before = await errorCounts(url);
  await refuse();
  const after = await errorCounts(url);
  const added = [...after].filter(([c, n]) => n !== (before.get(c) ?? 0))
    .map(([c, n]) => [c, n - (before.get(c) ?? 0)]);
  assertEquals(added, [[code, 1]]);
}

/** A raw request, since fetch lets a caller choose neither `Host` nor its own address. */
function rawGet(url: string, path: string, headers: Record<string, string>, localAddress?: string) {
  const { hostname, port } = new URL(url);
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ hostname, port, path, headers, localAddress }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

Deno.test("REST refusals (host, origin, body limit, not found, handlers) are counted by code", async (t) => {
  await using server = await startTestServer({
    CORS_ORIGINS: ALLOWED_ORIGIN,
    ALLOWED_HOSTS: "127.0.0.1",
    MAX_BODY_BYTES: "1024",
  });
  const { port } = new URL(server.url);

  await t.step("host guard", () =>
    countsOne(server.url, "FORBIDDEN", async () => {
      const res = await rawGet(server.url, "/api/chats/my-chats", { host: `evil.test:${port}` });
      assertEquals(res.status, 403);
      assertEquals(JSON.parse(res.body), { error: "Host not allowed", code: "FORBIDDEN" });
    }));

  await t.step("origin guard", () =>
    countsOne(server.url, "FORBIDDEN", async () => {
      const res = await fetch(`${server.url}/api/chats/my-chats`, {
        headers: { origin: "https://evil.example" },
      });
      assertEquals(res.status, 403);
      assertEquals(res.headers.get("access-control-allow-origin"), null);
      assertEquals(await res.json(), { error: "Origin not allowed", code: "FORBIDDEN" });
    }));

  await t.step("body limit", () =>
    countsOne(server.url, "PAYLOAD_TOO_LARGE", async () => {
      const res = await server.api("alice", "/api/chats/my-chats", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ text: "x".repeat(2048) }),
      });
      assertEquals(res.status, 413);
      assertEquals(await res.json(), {
        error: "Body larger than 1024 bytes",
        code: "PAYLOAD_TOO_LARGE",
      });
    }));

  await t.step("not found", () =>
    countsOne(server.url, "NOT_FOUND", async () => {
      const res = await fetch(`${server.url}/api/nothing-here`);
      assertEquals(res.status, 404);
      assertEquals(await res.json(), { error: "Route not found", code: "NOT_FOUND" });
    }));

  await t.step("a route's own refusal", () =>
    countsOne(server.url, "UNAUTHORIZED", async () => {
      const res = await fetch(`${server.url}/api/chats/my-chats`);
      assertEquals(res.status, 401);
      assertEquals((await res.json()).code, "UNAUTHORIZED");
    }));
});

Deno.test("REST refusals per IP are counted against the caller's own address", async () => {
  await using server = await startTestServer({
    RATE_LIMITS: "on",
    RATE_LIMIT_ANON_REST: "0.001:2",
  });
  const anonymous = (localAddress: string) =>
    rawGet(server.url, "/api/chats/my-chats", {}, localAddress);
  assertEquals((await anonymous("127.0.0.1")).status, 401);
  assertEquals((await anonymous("127.0.0.1")).status, 401);
  await countsOne(server.url, "RATE_LIMITED", async () => {
    const refused = await anonymous("127.0.0.1");
    assertEquals(refused.status, 429);
    assertEquals(JSON.parse(refused.body).code, "RATE_LIMITED");
  });
  // Another address on the loopback network has a bucket of its own.
  assertEquals((await anonymous("127.0.0.2")).status, 401);
});

Deno.test("socket refusals (handshake, connection, events, socket cap, expiry) are counted by code", async (t) => {
  await using server = await startTestServer({
    CORS_ORIGINS: ALLOWED_ORIGIN,
    RATE_LIMITS: "on",
    RATE_LIMIT_CONNECT: "0.001:4",
    RATE_LIMIT_HANDSHAKE: "0.001:8",
    MAX_SOCKETS_PER_USER: "1",
  });
  // Spends one connect and one handshake token each; the buckets above hold exactly these.
  await using open = clientList();
  const connect = async (userId: string, token?: string) => {
    const client = await connectClient(server.url, { token: token ?? await signToken(userId) });
    open.push(client);
    return client;
  };
  await t.step(
    "handshake from a foreign origin",
    () =>
      countsOne(server.url, "FORBIDDEN", async () => {
        const res = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`, {
          headers: { origin: "https://evil.example" },
        });
        assertEquals(res.status, 403);
        assertEquals((await res.json()).message, "Origin not allowed");
      }),
  );

  await t.step(
    "connection without a valid token",
    () =>
      countsOne(server.url, "UNAUTHORIZED", async () => {
        await assertRejects(() => connectClient(server.url, { token: "nonsense" }), (err) => {
          assertEquals((err as Error).message, "unauthorized");
          assertEquals((err as Error & { data?: unknown }).data, {
            error: "Missing, invalid or expired token",
            code: "UNAUTHORIZED",
          });
        });
      }),
  );

  await t.step("an event with an invalid payload", async () => {
    const alice = await connect("alice");
    await countsOne(server.url, "VALIDATION_ERROR", async () => {
      const told = nextEvent(alice, "messageError");
      const ack = await alice.timeout(2000).emitWithAck("sendMessage", { text: "no receiver" });
      assertEquals(ack.ok, false);
      assertEquals(ack.code, "VALIDATION_ERROR");
      assertEquals((await told).event, "sendMessage");
    });
  });

  await t.step("a user's socket over MAX_SOCKETS_PER_USER closes the oldest", async () => {
    const oldest = open.at(-1)!;
    await countsOne(server.url, "FORBIDDEN", async () => {
      const told = nextEvent(oldest, "messageError");
      await connect("alice");
      const error = await told;
      assertEquals(error.code, "FORBIDDEN");
      assert(error.error.startsWith("Too many connections for one user"), error.error);
    });
  });

  await t.step(
    "connection over the per-IP connect bucket",
    () =>
      countsOne(server.url, "RATE_LIMITED", async () => {
        await connect("bob"); // the bucket's last token
        await assertRejects(() => connectClient(server.url, { token: "whatever" }), (err) => {
          assertEquals((err as Error).message, "rate limited");
          const data = (err as Error & { data?: Record<string, unknown> }).data;
          assertEquals([data?.code, data?.error], [
            "RATE_LIMITED",
            "Too many connection attempts",
          ]);
          assert(typeof data?.retryAfterMs === "number" && data.retryAfterMs > 0);
        });
      }),
  );

  await t.step(
    "handshake over the per-IP handshake bucket",
    () =>
      countsOne(server.url, "RATE_LIMITED", async () => {
        // Earlier steps spent 5 of the 8 handshake tokens (the foreign origin's is not spent).
        for (let i = 0; i < 3; i++) {
          const res = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`);
          assertEquals(res.status, 200);
          await res.body?.cancel();
        }
        const res = await fetch(`${server.url}/socket.io/?EIO=4&transport=polling`);
        assertEquals(res.status, 403);
        assertEquals((await res.json()).message, "rate limited");
      }),
  );
});

Deno.test("a socket whose token expires is told TOKEN_EXPIRED once, counted", async () => {
  await using server = await startTestServer();
  const exp = Math.floor(Date.now() / 1000) + 2;
  const token = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("alice")
    .setExpirationTime(exp).sign(new TextEncoder().encode(TEST_SECRET));
  await using clients = clientList();
  const client = await connectClient(server.url, { token });
  clients.push(client);
  await countsOne(server.url, "TOKEN_EXPIRED", async () => {
    const told = await nextEvent(client, "messageError", () => true, 4000);
    assertEquals(told, {
      error: "Your token expired; reconnect with a fresh one",
      code: "TOKEN_EXPIRED",
    });
    if (client.connected) {
      await new Promise((resolve) => client.once("disconnect", resolve));
    }
  });
});
