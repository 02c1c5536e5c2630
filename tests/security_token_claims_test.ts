/**
 * A token's user id obeys the rules of every user id, whatever its signer put
 * in it; tokens that never expire, or live longer than the operator allows,
 * are refused. Over real REST calls and real sockets.
 */
import { SignJWT } from "jose";
import { assert, assertEquals, assertRejects } from "./helpers/assert.ts";
import { connectClient, restStatus, startTestServer, TEST_SECRET } from "./helpers/server.ts";

const key = new TextEncoder().encode(TEST_SECRET);

/** A token with exactly these claims (`sub` of any JSON type), signed with the test key. */
function tokenWith(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).sign(key);
}

const inOneHour = () => Math.floor(Date.now() / 1000) + 3600;

Deno.test("token sub: ids that break the id rules, and subs of other JSON types than string or integer, are 401 on REST and sockets", async (t) => {
  await using server = await startTestServer();
  const refused: Record<string, unknown> = {
    "a lone surrogate": "al\ud800ice",
    "a leading blank": " alice",
    "a trailing blank": "alice ",
    "NUL": "ali\u0000ce",
    "LF": "ali\nce",
    "ESC": "ali\u001bce",
    "DEL": "ali\u007fce",
    "129 characters": "a".repeat(129),
    "an empty string": "",
    "an object": { id: "alice" },
    "a fraction": 4.2,
    "an integer beyond 2^53 (not exact in JSON)": 2 ** 60,
    "an array": ["alice"],
    "true": true,
    "null": null,
  };
  for (const [name, sub] of Object.entries(refused)) {
    await t.step(name, async () => {
      const token = await tokenWith({ sub, exp: inOneHour() });
      assertEquals(await restStatus(server.url, token), 401);
      await assertRejects(
        () => connectClient(server.url, { token }),
        (err) => {
          assert(err instanceof Error);
          assertEquals((err as Error & { data?: { code?: string } }).data?.code, "UNAUTHORIZED");
        },
      );
    });
  }
  await t.step("an integer is accepted as its decimal digits", async () => {
    assertEquals(await restStatus(server.url, await tokenWith({ sub: 42, exp: inOneHour() })), 200);
  });
  await t.step("a well-formed id with spaces inside and any script is accepted", async () => {
    assertEquals(
      await restStatus(server.url, await tokenWith({ sub: "ana maría 李", exp: inOneHour() })),
      200,
    );
  });
});

Deno.test("token lifetime: no exp is refused unless JWT_REQUIRE_EXP=false; JWT_MAX_TTL caps exp - iat", async () => {
  const now = Math.floor(Date.now() / 1000);
  const forever = await tokenWith({ sub: "alice" });
  const day = await tokenWith({ sub: "alice", iat: now, exp: now + 86_400 });
  const hour = await tokenWith({ sub: "alice", iat: now, exp: now + 3600 });

  await using strict = await startTestServer({ JWT_MAX_TTL: "2h" });
  assertEquals(await restStatus(strict.url, forever), 401);
  assertEquals(await restStatus(strict.url, day), 401);
  assertEquals(await restStatus(strict.url, hour), 200);
  await assertRejects(() => connectClient(strict.url, { token: day }));
  (await connectClient(strict.url, { token: hour })).close();

  await using lenient = await startTestServer({ JWT_REQUIRE_EXP: "false" });
  assertEquals(await restStatus(lenient.url, forever), 200);
  assertEquals(await restStatus(lenient.url, day), 200);
});
