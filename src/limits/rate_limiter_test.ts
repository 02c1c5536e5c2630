import { AppError } from "../errors.ts";
import { assert, assertEquals, assertRejects } from "../../tests/helpers/assert.ts";
import { enforce, MemoryRateLimiter, type RateDecision, unlimited } from "./rate_limiter.ts";

type Limits = ConstructorParameters<typeof MemoryRateLimiter>[0];

const bucket = { perSecond: 1_000, burst: 1_000 };
/** Every bucket roomy, `send` at 2 per second with a burst of 3. */
const LIMITS: Limits = {
  send: { perSecond: 2, burst: 3 },
  typing: bucket,
  history: bucket,
  read: bucket,
  edit: bucket,
  react: bucket,
  block: bucket,
  group: bucket,
  rest: bucket,
  anonRest: bucket,
  connect: bucket,
  handshake: bucket,
};

/** A limiter on a clock the test moves by hand. */
function limiterAt(start = 1_000_000) {
  const clock = { now: start };
  return { limiter: new MemoryRateLimiter(LIMITS, () => clock.now), clock };
}

async function allowedOf(decisions: Promise<RateDecision>[]): Promise<boolean[]> {
  return (await Promise.all(decisions)).map((d) => d.allowed);
}

Deno.test("MemoryRateLimiter allows a full burst, then refuses with the wait until the next token", async () => {
  const { limiter } = limiterAt();
  const burst = Array.from({ length: 3 }, () => limiter.consume("send", "alice"));
  assertEquals(await allowedOf(burst), [true, true, true]);
  // 2 tokens per second: the next one is 500 ms away.
  assertEquals(await limiter.consume("send", "alice"), { allowed: false, retryAfterMs: 500 });
});

Deno.test("MemoryRateLimiter refills continuously at perSecond, never beyond burst", async () => {
  const { limiter, clock } = limiterAt();
  for (let i = 0; i < 3; i++) await limiter.consume("send", "alice");
  clock.now += 250; // half a token
  assertEquals(await limiter.consume("send", "alice"), { allowed: false, retryAfterMs: 250 });
  clock.now += 250;
  assertEquals((await limiter.consume("send", "alice")).allowed, true);
  assertEquals((await limiter.consume("send", "alice")).allowed, false);

  clock.now += 60_000; // a minute idle refills the burst, not 120 tokens
  const after = Array.from({ length: 4 }, () => limiter.consume("send", "alice"));
  assertEquals(await allowedOf(after), [true, true, true, false]);
});

Deno.test("MemoryRateLimiter keeps one bucket per key and per action", async () => {
  const { limiter } = limiterAt();
  for (let i = 0; i < 3; i++) await limiter.consume("send", "alice");
  assertEquals((await limiter.consume("send", "alice")).allowed, false);
  assertEquals((await limiter.consume("send", "bob")).allowed, true, "another user");
  assertEquals((await limiter.consume("typing", "alice")).allowed, true, "another action");
});

Deno.test("MemoryRateLimiter still limits a key after sweeping idle buckets", async () => {
  const { limiter, clock } = limiterAt();
  for (let i = 0; i < 3; i++) await limiter.consume("send", "alice");
  // Ten thousand other callers trigger a sweep; alice's empty bucket must survive it.
  for (let i = 0; i < 10_000; i++) await limiter.consume("typing", `user${i}`);
  clock.now += 1;
  assertEquals((await limiter.consume("send", "alice")).allowed, false);
});

Deno.test("enforce() throws RATE_LIMITED carrying the retry delay when the bucket is empty", async () => {
  const { limiter } = limiterAt();
  for (let i = 0; i < 3; i++) await enforce(limiter, "send", "alice");
  await assertRejects(() => enforce(limiter, "send", "alice"), (err) => {
    assert(err instanceof AppError);
    assertEquals(err.code, "RATE_LIMITED");
    assertEquals(err.retryAfterMs, 500);
  });
  await enforce(unlimited, "send", "alice");
});
