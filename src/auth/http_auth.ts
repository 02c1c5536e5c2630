import { createMiddleware } from "hono/factory";
import { AppError } from "../errors.ts";
import { bearerToken, type Identity, type TokenVerifier } from "./tokens.ts";

export interface AuthVariables {
  identity: Identity;
}

/** Hono middleware: the caller is who its Bearer token says; sets `c.var.identity`. */
export function requireUser(verifier: TokenVerifier) {
  return createMiddleware<{ Variables: AuthVariables }>(async function requireUser(c, next) {
    const token = bearerToken(c.req.header("authorization"));
    if (!token) throw new AppError("UNAUTHORIZED", "Missing Bearer token");
    c.set("identity", await verifier.verify(token));
    await next();
  });
}
