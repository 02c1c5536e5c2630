/**
 * OpenAPI plumbing for routers: request validation that answers like the rest
 * of Parley, and the responses routes share. The document itself is served by
 * openapi_document.ts.
 */
import { OpenAPIHono, type RouteConfig } from "@hono/zod-openapi";
import type { Env, MiddlewareHandler } from "hono";
import { z } from "zod";
import { AppError, ERROR_CODES, type ErrorCode } from "../errors.ts";
import { describeIssue } from "../schemas/inputs.ts";
import { errorWithCode } from "../schemas/responses.ts";

/** Name of the security scheme of every authenticated route. */
export const BEARER_AUTH = "bearerAuth";

/** Routes that need the Bearer token list this as their `security`. */
export const BEARER_SECURITY = [{ [BEARER_AUTH]: [] }];

/**
 * Validation hook of every documented route: a request that fails its schemas
 * gets 400 `{error, code: "VALIDATION_ERROR"}` naming the field, as `parseInput` does.
 */
export function rejectInvalid(
  result: { success: true } | { success: false; error: z.ZodError },
): void {
  if (!result.success) throw new AppError("VALIDATION_ERROR", describeIssue(result.error));
}

/** A router whose routes are validated by, and documented from, their zod schemas. */
export function openApiRouter<E extends Env = Env>(): OpenAPIHono<E> {
  return new OpenAPIHono<E>({ defaultHook: rejectInvalid });
}

/** application/json, optionally with a suffix (`+json`) and parameters. */
const JSON_MEDIA_TYPE = /^application\/([\w.-]+\+)?json\s*(;|$)/i;

/**
 * Route middleware of routes with a JSON body. Without it a body of another
 * type would be read as no body at all (and answered as a missing field), or
 * refused with a 415 no client is told about: it says what is wrong instead.
 */
export const requireJsonBody: MiddlewareHandler = async function requireJsonBody(c, next) {
  if (!JSON_MEDIA_TYPE.test(c.req.header("content-type") ?? "")) {
    throw new AppError("VALIDATION_ERROR", "Body must be JSON (Content-Type: application/json)");
  }
  await next();
};

type ResponseConfig = Exclude<RouteConfig["responses"][string], { $ref: string }>;

/** A JSON response of `schema`. */
export function jsonResponse(schema: z.ZodType, description: string): ResponseConfig {
  return { description, content: { "application/json": { schema } } };
}

/**
 * Error responses keyed by HTTP status, from `{CODE: "when it happens"}`:
 * `errorResponses({ NOT_FOUND: "No such message." })`. Codes that share a
 * status (413: PAYLOAD_TOO_LARGE, QUOTA_EXCEEDED) make one response whose body
 * is one of theirs. A 429 documents `Retry-After`.
 */
export function errorResponses(
  cases: Partial<Record<ErrorCode, string>>,
): Record<number, ResponseConfig> {
  const byStatus = new Map<number, [ErrorCode, string][]>();
  for (const [code, description] of Object.entries(cases) as [ErrorCode, string][]) {
    byStatus.set(ERROR_CODES[code], [...byStatus.get(ERROR_CODES[code]) ?? [], [
      code,
      description,
    ]]);
  }
  const responses: Record<number, ResponseConfig> = {};
  for (const [status, shared] of byStatus) {
    const schemas = shared.map(([code]) => errorWithCode(code));
    const response = shared.length === 1 ? jsonResponse(schemas[0]!, shared[0]![1]) : jsonResponse(
      z.union(schemas),
      shared.map(([code, description]) => `\`${code}\`: ${description}`).join(" "),
    );
    if (status === ERROR_CODES.RATE_LIMITED) {
      response.headers = {
        "Retry-After": {
          description: "Seconds to wait before retrying (`retryAfterMs`, rounded up).",
          required: true,
          schema: { type: "integer", minimum: 1 },
        },
      };
    }
    responses[status] = response;
  }
  return responses;
}

/** Every route: a browser page whose origin is not allowed gets nothing but this. */
export const ORIGIN_REFUSED = "A browser `Origin` not listed in `CORS_ORIGINS`.";

/** What every Bearer-authenticated route may answer besides its own cases. */
export const AUTHENTICATED_ERRORS = {
  UNAUTHORIZED: "No Bearer token, or one that is invalid or expired.",
  FORBIDDEN: ORIGIN_REFUSED,
  RATE_LIMITED: "Over the caller's REST budget (per user; per IP without a valid token).",
  INTERNAL_ERROR: "Anything unexpected; the details are in the server log.",
  STORE_UNAVAILABLE: "The store did not answer in time; retry later.",
} as const satisfies Partial<Record<ErrorCode, string>>;
