/**
 * The routes without a Bearer token: liveness, readiness and (dev mode only)
 * token minting. Documented in /openapi.json like the chat routes.
 */
import { createRoute } from "@hono/zod-openapi";
import type { Context, MiddlewareHandler } from "hono";
import type { TokenIssuer } from "../auth/tokens.ts";
import { DevTokenInput } from "../schemas/inputs.ts";
import { DevToken, Health, NotReady, Ready } from "../schemas/responses.ts";
import {
  errorResponses,
  jsonResponse,
  openApiRouter,
  ORIGIN_REFUSED,
  requireJsonBody,
} from "./openapi.ts";

export interface SystemRoutesDeps {
  /** Resolves when every backing service answers. */
  ready: () => Promise<void>;
  /** Present only in dev mode: enables `POST /api/dev/token`. */
  devIssuer?: TokenIssuer;
  /** Spends the caller's anonymous (per-IP) REST budget; throws RATE_LIMITED when empty. */
  spendAnonymousBudget: (c: Context) => Promise<void>;
}

const TAGS = ["system"];

const health = createRoute({
  method: "get",
  path: "/healthz",
  tags: TAGS,
  summary: "Alive: the process answers",
  responses: {
    200: jsonResponse(Health, "Alive."),
    ...errorResponses({ FORBIDDEN: ORIGIN_REFUSED }),
  },
});

const readiness = createRoute({
  method: "get",
  path: "/readyz",
  tags: TAGS,
  summary: "Ready: the process can also reach its store",
  responses: {
    200: jsonResponse(Ready, "Ready."),
    503: jsonResponse(NotReady, "The store does not answer."),
    ...errorResponses({ FORBIDDEN: ORIGIN_REFUSED }),
  },
});

function devTokenRoute(spendAnonymousBudget: SystemRoutesDeps["spendAnonymousBudget"]) {
  const spendBudget: MiddlewareHandler = async function spendBudget(c, next) {
    await spendAnonymousBudget(c);
    await next();
  };
  return createRoute({
    method: "post",
    path: "/api/dev/token",
    tags: TAGS,
    summary: "Mint a token (dev mode only)",
    description: "Present only in dev mode (neither JWT_SECRET nor JWT_JWKS_URL set), where " +
      "tokens are signed with a random per-process key; elsewhere this route is a 404 and is " +
      "not in this document.",
    middleware: [spendBudget, requireJsonBody] as const,
    request: {
      body: { required: true, content: { "application/json": { schema: DevTokenInput } } },
    },
    responses: {
      200: jsonResponse(DevToken, "A token for `userId`, valid for 24 hours."),
      ...errorResponses({
        VALIDATION_ERROR: "Not a JSON body, or a missing or malformed `userId`/`username`.",
        FORBIDDEN: ORIGIN_REFUSED,
        PAYLOAD_TOO_LARGE: "A body over the API's limit (MAX_BODY_BYTES).",
        RATE_LIMITED: "Over the anonymous REST budget of the caller's IP.",
        INTERNAL_ERROR: "Anything unexpected; the details are in the server log.",
      }),
    },
  });
}

export function systemRoutes(deps: SystemRoutesDeps) {
  const app = openApiRouter()
    .openapi(health, (c) => c.json({ status: "ok" as const }, 200))
    .openapi(readiness, async (c) => {
      try {
        await deps.ready();
        return c.json({ status: "ready" as const }, 200);
      } catch {
        return c.json({ status: "unavailable", code: "STORE_UNAVAILABLE" } as const, 503);
      }
    });
  const issuer = deps.devIssuer;
  if (issuer) {
    app.openapi(devTokenRoute(deps.spendAnonymousBudget), async (c) => {
      const input = c.req.valid("json");
      return c.json({ token: await issuer.issue(input.userId, input.username) }, 200);
    });
  }
  return app;
}
