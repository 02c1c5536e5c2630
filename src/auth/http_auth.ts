import type { Context } from "hono";
import { createMiddleware } from "hono/factory";
import { AppError } from "../errors.ts";
import { enforce, type RateLimiter } from "../limits/rate_limiter.ts";
import type { Identity } from "../protocol/types.ts";
import { bearerToken, type TokenVerifier } from "./tokens.ts";

export interface AuthVariables {
  identity: Identity;
}

export interface RequireUserOptions {
  verifier: TokenVerifier;
  limiter: RateLimiter;
  /** The caller's address, for the per-IP budget of unauthenticated requests. */
  addressOf: (c: Context) => string;
}

/**
 * Hono middleware: the caller is who its Bearer token says; sets `c.var.identity`.
 * Authenticated callers spend their own REST budget; requests without a valid
 * token spend their IP's (smaller) one before being refused.
 */
export function requireUser({ verifier, limiter, addressOf }: RequireUserOptions) {
  return createMiddleware<{ Variables: AuthVariables }>(async function requireUser(c, next) {
    const token = bearerToken(c.req.header("authorization"));
    let identity: Identity;
    try {
      if (!token) throw new AppError("UNAUTHORIZED", "Missing Bearer token");
      identity = await verifier.verify(token);
    } catch (err) {
      await enforce(limiter, "anonRest", addressOf(c));
      throw err;
    }
    await enforce(limiter, "rest", identity.userId);
    c.set("identity", identity);
    await next();
  });
}
