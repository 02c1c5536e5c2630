import type { Metrics } from "../metrics/metrics.ts";
import type { RateLimiter } from "./rate_limiter.ts";

/** Counts refusals into `parley_rate_limited_total{limit}`. */
export function countRefusals(limiter: RateLimiter, metrics: Metrics): RateLimiter {
  return {
    async consume(name, key) {
      const decision = await limiter.consume(name, key);
      if (!decision.allowed) metrics.rateLimited.inc({ limit: name });
      return decision;
    },
  };
}
