/**
 * `/openapi.json`: the OpenAPI 3.1 document of the app, generated from the zod
 * schemas of its routers (the same ones that validate requests).
 */
import type { OpenAPIHono } from "@hono/zod-openapi";
import type { Env } from "hono";
import { BEARER_AUTH } from "./openapi.ts";

const DOCUMENT_INFO = {
  title: "Parley REST API",
  version: "1",
  description: "The REST half of Parley; real-time messaging is over Socket.IO on the same " +
    "port (see the README). Errors are `{error, code}`; list routes answer with a plain array.",
};

/**
 * Serves the OpenAPI 3.1 document of every documented route mounted on `app`
 * (routers built with `openApiRouter()` and mounted with `app.route()`).
 * It is generated on the first request, when every route is registered.
 */
export function serveOpenApiDocument<E extends Env>(
  app: OpenAPIHono<E>,
  path = "/openapi.json",
): void {
  app.openAPIRegistry.registerComponent("securitySchemes", BEARER_AUTH, {
    type: "http",
    scheme: "bearer",
    bearerFormat: "JWT",
    description: "A JWT whose `sub` is the caller (HS256 with JWT_SECRET, or RS256/ES256 " +
      "from JWT_JWKS_URL; in dev mode, from `POST /api/dev/token`).",
  });
  let document: unknown;
  app.get(path, function openApiDocument(c) {
    document ??= app.getOpenAPI31Document({ openapi: "3.1.0", info: DOCUMENT_INFO });
    return c.json(document);
  });
}
