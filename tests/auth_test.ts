import { assert, assertEquals, assertRejects } from "./helpers/assert.ts";
import { waitFor } from "./helpers/events.ts";
import { connectClient, disconnectAll, signToken, startTestServer } from "./helpers/server.ts";

Deno.test("sockets without a valid token are refused with connect_error 'unauthorized'", async (t) => {
  await using server = await startTestServer();
  const refusals: Record<string, () => Promise<Record<string, unknown>>> = {
    "no token": () => Promise.resolve({}),
    "garbage token": () => Promise.resolve({ token: "garbage" }),
    "token signed with another key": async () => ({
      token: await signToken("alice", {}, "some-other-secret-some-other-secret-xx"),
    }),
    "expired token": async () => ({
      token: await signToken("alice", {}, undefined, Math.floor(Date.now() / 1000) - 5),
    }),
    "token without sub": async () => {
      const { SignJWT } = await import("jose");
      const token = await new SignJWT({}).setProtectedHeader({ alg: "HS256" }).setExpirationTime(
        "1h",
      )
        .sign(new TextEncoder().encode("test-secret-that-is-at-least-32-characters-long"));
      return { token };
    },
    "alg none": () =>
      Promise.resolve({ token: `${btoa('{"alg":"none"}')}.${btoa('{"sub":"alice"}')}.` }),
  };
  for (const [name, auth] of Object.entries(refusals)) {
    await t.step(name, async () => {
      await assertRejects(
        async () => connectClient(server.url, await auth()),
        (err) => {
          assert(err instanceof Error);
          assertEquals(err.message, "unauthorized");
          assertEquals((err as Error & { data?: { code?: string } }).data?.code, "UNAUTHORIZED");
        },
      );
    });
  }
});

Deno.test("sockets accept the token from auth.token or the Authorization header", async () => {
  await using server = await startTestServer();
  const viaAuth = await connectClient(server.url, { token: await signToken("alice") });
  const viaHeader = await connectClient(server.url, {}, {
    extraHeaders: { authorization: `Bearer ${await signToken("bob")}` },
  });
  const ack = await viaHeader.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "alice",
    text: "hdr",
  });
  assert(ack.ok);
  assertEquals(ack.message.senderId, "bob");
  await disconnectAll([viaAuth, viaHeader]);
});

Deno.test("dev mode: POST /api/dev/token mints a token that REST and sockets accept", async () => {
  await using server = await startTestServer({ JWT_SECRET: "" });
  const res = await fetch(`${server.url}/api/dev/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ userId: "dana", username: "Dana" }),
  });
  assertEquals(res.status, 200);
  const { token } = await res.json();
  const rest = await fetch(`${server.url}/api/chats/my-chats`, {
    headers: { authorization: `Bearer ${token}` },
  });
  assertEquals(rest.status, 200);
  assertEquals(await rest.json(), []);
  const client = await connectClient(server.url, { token });
  const ack = await client.timeout(3000).emitWithAck("setUserId", "dana");
  assert(ack.ok);
  await waitFor(
    async () => (await server.parley.store.users.get("dana"))?.username === "Dana",
    "the token's username in the user record",
  );
  await disconnectAll([client]);

  const bad = await fetch(`${server.url}/api/dev/token`, { method: "POST", body: "{not json" });
  assertEquals(bad.status, 400);
  assertEquals((await bad.json()).code, "VALIDATION_ERROR");
  const noUser = await fetch(`${server.url}/api/dev/token`, { method: "POST", body: "{}" });
  assertEquals(noUser.status, 400);
  // A token from the test secret is not accepted by a dev-mode server's random key.
  const foreign = await fetch(`${server.url}/api/chats/my-chats`, {
    headers: { authorization: `Bearer ${await signToken("dana")}` },
  });
  assertEquals(foreign.status, 401);
});
