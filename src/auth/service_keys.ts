/**
 * `Authorization: Bearer <key>` for the service API, the host backend's door.
 * Keys are compared as SHA-256 digests with `timingSafeEqual`, against every
 * configured key (no early exit), so the answer's timing says nothing about
 * how much of a key was right.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import { createMiddleware } from "hono/factory";
import { AppError } from "../errors.ts";
import { bearerToken } from "./tokens.ts";

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

export function isServiceKey(presented: string, keys: readonly Buffer[]): boolean {
  const candidate = digest(presented);
  let found = false;
  for (const key of keys) found = timingSafeEqual(candidate, key) || found;
  return found;
}

/** Hono middleware: refuses any request that does not carry one of `keys`. */
export function requireServiceKey(keys: readonly string[]) {
  const digests = keys.map(digest);
  return createMiddleware(async function requireServiceKey(c, next) {
    const presented = bearerToken(c.req.header("authorization"));
    if (!presented || !isServiceKey(presented, digests)) {
      throw new AppError("UNAUTHORIZED", "A service API key is required (SERVICE_API_KEYS)");
    }
    await next();
  });
}
