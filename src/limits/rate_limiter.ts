/**
 * Token buckets: each key (a user, or an IP for anonymous callers) gets its own
 * bucket per action, refilled continuously at `perSecond` up to `burst`.
 * The interface is async so that a shared (Redis) implementation can stand in
 * for this in-process one when several nodes must share counters.
 */
import type { RateBucket, RateLimitName } from "../config.ts";
import { AppError } from "../errors.ts";

export type RateDecision = { allowed: true } | { allowed: false; retryAfterMs: number };

export interface RateLimiter {
  consume(name: RateLimitName, key: string): Promise<RateDecision>;
}

/** Used when `RATE_LIMITS=off`. */
export const unlimited: RateLimiter = { consume: () => Promise.resolve({ allowed: true }) };

interface Bucket {
  tokens: number;
  updatedAt: number;
}

/** Buckets idle this long are full again and can be forgotten. */
const SWEEP_EVERY = 10_000;

export class MemoryRateLimiter implements RateLimiter {
  private readonly buckets = new Map<string, Bucket>();
  private consumed = 0;

  constructor(
    private readonly limits: Readonly<Record<RateLimitName, RateBucket>>,
    private readonly now: () => number = Date.now,
  ) {}

  consume(name: RateLimitName, key: string): Promise<RateDecision> {
    const { perSecond, burst } = this.limits[name];
    const now = this.now();
    const id = `${name}\u0000${key}`;
    const bucket = this.buckets.get(id) ?? { tokens: burst, updatedAt: now };
    bucket.tokens = Math.min(burst, bucket.tokens + ((now - bucket.updatedAt) / 1000) * perSecond);
    bucket.updatedAt = now;
    this.buckets.set(id, bucket);
    if (++this.consumed % SWEEP_EVERY === 0) this.sweep(now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return Promise.resolve({ allowed: true });
    }
    const retryAfterMs = Math.ceil(((1 - bucket.tokens) / perSecond) * 1000);
    return Promise.resolve({ allowed: false, retryAfterMs });
  }

  /** Drops buckets that have refilled completely: they hold no information. */
  private sweep(now: number): void {
    for (const [id, bucket] of this.buckets) {
      const name = id.slice(0, id.indexOf("\u0000")) as RateLimitName;
      const { perSecond, burst } = this.limits[name];
      if (bucket.tokens + ((now - bucket.updatedAt) / 1000) * perSecond >= burst) {
        this.buckets.delete(id);
      }
    }
  }
}

/** Throws RATE_LIMITED when the key's bucket for `name` is empty. */
export async function enforce(
  limiter: RateLimiter,
  name: RateLimitName,
  key: string,
): Promise<void> {
  const decision = await limiter.consume(name, key);
  if (!decision.allowed) {
    throw new AppError("RATE_LIMITED", "Too many requests; slow down", decision.retryAfterMs);
  }
}
