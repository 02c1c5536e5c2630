/** Identity-provider tokens against a JWKS the test serves itself, issuer/audience checks, expiry. */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { assert, assertEquals, assertRejects } from "./helpers/assert.ts";
import { nextEvent } from "./helpers/events.ts";
import { connectClient, restStatus, startTestServer, TEST_SECRET } from "./helpers/server.ts";

const ISSUER = "https://idp.example.com/";
const AUDIENCE = "parley";

async function keyPair(alg: "RS256" | "ES256", kid: string) {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true });
  const jwk: JWK = { ...(await exportJWK(publicKey)), kid, alg, use: "sig" };
  const sign = (sub: string, claims: Record<string, unknown> = {}, exp: string | number = "1h") =>
    new SignJWT(claims).setProtectedHeader({ alg, kid }).setSubject(sub).setIssuer(ISSUER)
      .setAudience(AUDIENCE).setIssuedAt().setExpirationTime(exp).sign(privateKey);
  return { jwk, sign };
}

/**
 * A JWKS endpoint on loopback whose key set the test can rotate. node:http, not
 * Deno.serve: @hono/node-server swaps the global Response in this process.
 */
async function serveJwks(keys: JWK[]) {
  let fetches = 0;
  const server = createServer((_req, res) => {
    fetches++;
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify({ keys }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return {
    url: `http://127.0.0.1:${port}/.well-known/jwks.json`,
    rotate: (next: JWK[]) => keys.splice(0, keys.length, ...next),
    fetches: () => fetches,
    close,
    [Symbol.asyncDispose]: close,
  };
}

Deno.test("JWKS: RS256 and ES256 tokens verify, keys are cached, a rotated key is picked up", async () => {
  const rsa = await keyPair("RS256", "rsa-1");
  const ec = await keyPair("ES256", "ec-1");
  await using jwks = await serveJwks([rsa.jwk, ec.jwk]);
  await using server = await startTestServer({
    JWT_SECRET: "",
    JWT_JWKS_URL: jwks.url,
    JWT_ISSUER: ISSUER,
    JWT_AUDIENCE: AUDIENCE,
    JWT_JWKS_COOLDOWN_MS: "0",
  });
  const get = (token: string) =>
    fetch(`${server.url}/api/chats/my-chats`, { headers: { authorization: `Bearer ${token}` } });
  for (const token of [await rsa.sign("alice"), await ec.sign("bob")]) {
    const res = await get(token);
    assertEquals(res.status, 200);
    await res.body?.cancel();
  }
  const socket = await connectClient(server.url, {
    token: await ec.sign("bob", { username: "Bob" }),
  });
  socket.close();
  assertEquals(jwks.fetches(), 1, "the key set is fetched once and cached");

  const rotated = await keyPair("ES256", "ec-2");
  jwks.rotate([rotated.jwk]);
  const fresh = await get(await rotated.sign("carol"));
  assertEquals(fresh.status, 200);
  await fresh.body?.cancel();
  assertEquals(jwks.fetches(), 2, "an unknown kid triggers one refetch");

  const stranger = await keyPair("RS256", "rsa-1"); // same kid, different key
  const forged = await get(await stranger.sign("alice"));
  assertEquals(forged.status, 401);
  await forged.body?.cancel();
  // HS256 is not accepted when no secret is configured.
  const hs = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("alice")
    .setIssuer(ISSUER).setAudience(AUDIENCE).setExpirationTime("1h").sign(
      new TextEncoder().encode(TEST_SECRET),
    );
  const refused = await get(hs);
  assertEquals(refused.status, 401);
  await refused.body?.cancel();
});

Deno.test("JWT_ISSUER and JWT_AUDIENCE are checked on every token, HS256 included", async () => {
  await using server = await startTestServer({ JWT_ISSUER: ISSUER, JWT_AUDIENCE: AUDIENCE });
  const key = new TextEncoder().encode(TEST_SECRET);
  const token = (iss?: string, aud?: string) => {
    const jwt = new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("alice")
      .setExpirationTime("1h");
    if (iss) jwt.setIssuer(iss);
    if (aud) jwt.setAudience(aud);
    return jwt.sign(key);
  };
  const status = (t: string) => restStatus(server.url, t);
  assertEquals(await status(await token(ISSUER, AUDIENCE)), 200);
  assertEquals(await status(await token("https://other.example/", AUDIENCE)), 401);
  assertEquals(await status(await token(ISSUER, "someone-else")), 401);
  assertEquals(await status(await token()), 401);
  await assertRejects(() => connectClient(server.url, { token: "" }));
});

Deno.test("a socket whose token expires gets TOKEN_EXPIRED and is disconnected within a second", async () => {
  await using server = await startTestServer();
  const exp = Math.floor(Date.now() / 1000) + 2;
  const token = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setSubject("alice")
    .setExpirationTime(exp).sign(new TextEncoder().encode(TEST_SECRET));
  const client = await connectClient(server.url, { token });
  const expired = nextEvent(client, "messageError", (e) => e.code === "TOKEN_EXPIRED", 5000);
  const disconnected = new Promise<number>((resolve) =>
    client.once("disconnect", () => resolve(Date.now()))
  );
  assertEquals((await expired).code, "TOKEN_EXPIRED");
  const at = await disconnected;
  assert(at - exp * 1000 < 1000, `disconnected ${at - exp * 1000} ms after exp`);
  assert(at >= exp * 1000 - 50, "not before exp");
});
