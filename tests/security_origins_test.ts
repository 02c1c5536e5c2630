import { assert, assertEquals, assertRejects } from "./helpers/assert.ts";
import { connectClient, disconnectAll, signToken, startTestServer } from "./helpers/server.ts";

const ALLOWED = "https://app.example.com";

Deno.test("origins: a browser origin not on CORS_ORIGINS gets 403 without CORS headers; listed, same-origin and origin-less callers pass", async () => {
  await using server = await startTestServer({ CORS_ORIGINS: ALLOWED });
  const token = await signToken("alice");
  const call = (origin?: string) =>
    fetch(`${server.url}/api/chats/my-chats`, {
      headers: { authorization: `Bearer ${token}`, ...(origin ? { origin } : {}) },
    });

  const evil = await call("https://evil.example");
  assertEquals(evil.status, 403);
  assertEquals((await evil.json()).code, "FORBIDDEN");
  assertEquals(evil.headers.get("access-control-allow-origin"), null);

  const preflight = await fetch(`${server.url}/api/chats/my-chats`, {
    method: "OPTIONS",
    headers: { origin: "https://evil.example", "access-control-request-method": "GET" },
  });
  assertEquals(preflight.status, 403);
  assertEquals(preflight.headers.get("access-control-allow-origin"), null);
  await preflight.body?.cancel();

  const listed = await call(ALLOWED);
  assertEquals(listed.status, 200);
  assertEquals(listed.headers.get("access-control-allow-origin"), ALLOWED);
  await listed.body?.cancel();

  const sameOrigin = await call(server.url);
  assertEquals(sameOrigin.status, 200);
  await sameOrigin.body?.cancel();

  const noOrigin = await call();
  assertEquals(noOrigin.status, 200);
  await noOrigin.body?.cancel();
});

Deno.test("origins: a socket from a foreign origin is refused; listed and origin-less sockets connect", async () => {
  await using server = await startTestServer({ CORS_ORIGINS: ALLOWED });
  const token = await signToken("alice");
  await assertRejects(() =>
    connectClient(server.url, { token }, { extraHeaders: { origin: "https://evil.example" } })
  );
  const listed = await connectClient(server.url, { token }, {
    extraHeaders: { origin: ALLOWED },
  });
  const plain = await connectClient(server.url, { token });
  await disconnectAll([listed, plain]);
});

Deno.test("secure headers and a CSP the test page satisfies are on every response", async () => {
  await using server = await startTestServer();
  for (const path of ["/", "/api/chats/my-chats", "/healthz"]) {
    const res = await fetch(`${server.url}${path}`);
    await res.body?.cancel();
    const csp = res.headers.get("content-security-policy") ?? "";
    assert(csp.includes("default-src 'self'"), `${path}: ${csp}`);
    assert(csp.includes("script-src 'self'") && !csp.includes("unsafe-inline"), csp);
    assert(csp.includes("frame-ancestors 'none'"), csp);
    assertEquals(res.headers.get("x-content-type-options"), "nosniff");
    assert(res.headers.get("strict-transport-security"));
  }
  const html = await (await fetch(`${server.url}/`)).text();
  assert(
    !/<script>[^<]/.test(html) && !/ on[a-z]+=/.test(html) && !/ style=/.test(html),
    "no inline code",
  );
});
