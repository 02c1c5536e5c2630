/**
 * Token buckets shared by every node of a cluster: one Redis hash per bucket, refilled
 * and taken from in one Lua script on Redis's clock, so that a user's limit holds across
 * nodes (not once per node).
 *
 * While Redis cannot be reached, each node falls back to its own in-memory buckets: a
 * flood is still bounded (by the number of nodes times the limit), and a Redis outage
 * does not also refuse every user. The first fallback and the return are logged.
 */
import type { RateBucket, RateLimitName } from "../config.ts";
import { errorFields, type Logger } from "../log.ts";
import type { RateDecision, RateLimiter } from "../limits/rate_limiter.ts";
import { type RedisClient, withTimeout } from "./redis_link.ts";
import { NOW, Script } from "./scripts.ts";

/**
 * KEYS[1] the bucket; ARGV: refill per second, burst.
 * Returns -1 when allowed, else the milliseconds until a token is available.
 */
const TAKE_TOKEN = new Script(
  NOW + `
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens = tonumber(state[1]) or burst
local at = tonumber(state[2]) or now
tokens = math.min(burst, tokens + math.max(0, now - at) / 1000 * rate)
local result = -1
if tokens >= 1 then
  tokens = tokens - 1
else
  result = math.ceil((1 - tokens) / rate * 1000)
end
redis.call('HSET', KEYS[1], 'tokens', tostring(tokens), 'at', tostring(now))
-- Forgotten once full again: an idle bucket holds no information.
redis.call('PEXPIRE', KEYS[1], math.ceil((burst - tokens) / rate * 1000) + 1000)
return result
`,
);

export class RedisRateLimiter implements RateLimiter {
  private fallingBack = false;

  constructor(
    private readonly client: RedisClient,
    private readonly limits: Readonly<Record<RateLimitName, RateBucket>>,
    /** Used while Redis cannot be reached: this node's own buckets. */
    private readonly fallback: RateLimiter,
    private readonly log: Logger,
    private readonly prefix = "parley",
  ) {}

  async consume(name: RateLimitName, key: string): Promise<RateDecision> {
    if (!this.client.isReady) return this.fallBack(name, key);
    const { perSecond, burst } = this.limits[name];
    let wait: number;
    try {
      wait = Number(
        await withTimeout(
          TAKE_TOKEN.run(this.client, [`${this.prefix}:rate:${name}:${key}`], [
            String(perSecond),
            String(burst),
          ]),
        ),
      );
    } catch (err) {
      return this.fallBack(name, key, err);
    }
    if (this.fallingBack) {
      this.fallingBack = false;
      this.log.info("rate limits shared across the cluster again");
    }
    return wait < 0 ? { allowed: true } : { allowed: false, retryAfterMs: wait };
  }

  private fallBack(name: RateLimitName, key: string, err?: unknown): Promise<RateDecision> {
    if (!this.fallingBack) {
      this.fallingBack = true;
      this.log.warn(
        "rate limits fall back to this node's buckets: redis unreachable",
        err === undefined ? {} : errorFields(err),
      );
    }
    return this.fallback.consume(name, key);
  }
}
