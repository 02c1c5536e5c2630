/** The Hono app: REST routes, the dev token route, health and the test page. */
import type { IncomingMessage } from "node:http";
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { secureHeaders } from "hono/secure-headers";
import type { BlankEnv } from "hono/types";
import { clientAddress } from "../auth/client_address.ts";
import { requireUser } from "../auth/http_auth.ts";
import { type HostPolicy, isHostAllowed } from "../hosts.ts";
import { type AllowedOrigins, isOriginAllowed } from "../auth/origins.ts";
import { enforce, type RateLimiter } from "../limits/rate_limiter.ts";
import { errorReport, type Metrics } from "../metrics/metrics.ts";
import type { TokenIssuer, TokenVerifier } from "../auth/tokens.ts";
import type { ChatService } from "../chat/chat_service.ts";
import { AppError, ERROR_CODES, toErrorBody } from "../errors.ts";
import type { Logger } from "../log.ts";
import { OpenAPIHono } from "@hono/zod-openapi";
import { chatsRoutes } from "./chats_routes.ts";
import { docsRoutes } from "./docs_page.ts";
import { groupsRoutes } from "./groups_routes.ts";
import { serveOpenApiDocument } from "./openapi_document.ts";
import { systemRoutes } from "./system_routes.ts";
import type { PushService } from "../push/push_service.ts";
import type { UploadService } from "../uploads/upload_service.ts";
import { pushRoutes } from "./push_routes.ts";
import { serviceRoutes, type ServiceRoutesDeps } from "./service_routes.ts";
import { uploadsRoutes } from "./uploads_routes.ts";
import { usersRoutes } from "./users_routes.ts";
import { loadStaticPage } from "./static_page.ts";

export interface HttpAppDeps {
  chat: ChatService;
  verifier: TokenVerifier;
  /** Present only in dev mode: enables `POST /api/dev/token`. */
  devIssuer?: TokenIssuer;
  corsOrigins: AllowedOrigins;
  hosts: HostPolicy;
  /** Resolves when every backing service answers (the store, later Redis). */
  ready: () => Promise<void>;
  limiter: RateLimiter;
  /** Largest JSON body accepted on the API (uploads have their own limit). */
  maxBodyBytes: number;
  metrics: Metrics;
  trustProxy: boolean;
  log: Logger;
  /** Enables `/api/uploads`. */
  uploads?: UploadService;
  /** Enables `/api/push` when Web Push is configured. */
  push?: PushService;
  /** Enables `/api/service` (`SERVICE_API_KEYS`): the host backend's door. */
  service?: Omit<ServiceRoutesDeps, "chat">;
}

/** The test page satisfies this: no inline script or style, sockets to its own origin only. */
const CONTENT_SECURITY_POLICY = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'"],
  styleSrc: ["'self'"],
  imgSrc: ["'self'", "data:", "blob:"],
  mediaSrc: ["'self'", "blob:"],
  connectSrc: ["'self'"],
  objectSrc: ["'none'"],
  baseUri: ["'self'"],
  formAction: ["'self'"],
  frameAncestors: ["'none'"],
};

export async function createHttpApp(deps: HttpAppDeps): Promise<Hono> {
  // OpenAPIHono gathers the documented routes of the routers mounted below into /openapi.json.
  const app = new OpenAPIHono<BlankEnv>();
  const page = await loadStaticPage();

  // Every refusal, thrown by a route or a guard below, is answered (and counted) here.
  const report = errorReport(deps.metrics, deps.log, "request failed");
  const answerError = (err: unknown, c: Context) => {
    // Hono's own refusals (a malformed JSON body behind a validator) are bad requests.
    const refusal = err instanceof HTTPException
      ? new AppError("VALIDATION_ERROR", err.message || "Bad request")
      : err;
    const body = toErrorBody(refusal, report);
    if (body.retryAfterMs !== undefined) {
      c.header("Retry-After", String(Math.max(1, Math.ceil(body.retryAfterMs / 1000))));
    }
    return c.json(body, ERROR_CODES[body.code]);
  };
  app.onError(answerError);
  app.notFound((c) => answerError(new AppError("NOT_FOUND", "Route not found"), c));

  const addressOf = (c: Context) => {
    const incoming = (c.env as { incoming?: IncomingMessage } | undefined)?.incoming;
    return clientAddress(
      incoming?.socket?.remoteAddress,
      c.req.header("x-forwarded-for"),
      deps.trustProxy,
    );
  };
  const origins = deps.corsOrigins;
  const originAllowed = (c: Context) =>
    isOriginAllowed(c.req.header("origin"), c.req.header("host"), origins);

  app.use("*", secureHeaders({ contentSecurityPolicy: CONTENT_SECURITY_POLICY }));
  // A page that reached this server by a name of its own (DNS rebinding) gets nothing.
  app.use("*", async function hostGuard(c, next) {
    if (!isHostAllowed(c.req.header("host"), deps.hosts)) {
      throw new AppError("FORBIDDEN", "Host not allowed");
    }
    await next();
  });
  // A browser page from an origin not on the list gets nothing: 403, no CORS headers.
  app.use("*", async function originGuard(c, next) {
    if (!originAllowed(c)) throw new AppError("FORBIDDEN", "Origin not allowed");
    await next();
  });
  app.use(
    "/api/*",
    cors({
      origin: (origin, c) => (originAllowed(c) ? origin : null),
      allowHeaders: ["Authorization", "Content-Type"],
      exposeHeaders: ["Retry-After"],
    }),
  );
  app.use("/api/*", async function apiBodyLimit(c, next) {
    if (c.req.path.startsWith("/api/uploads")) return await next();
    return await bodyLimit({
      maxSize: deps.maxBodyBytes,
      onError: () => {
        throw new AppError("PAYLOAD_TOO_LARGE", `Body larger than ${deps.maxBodyBytes} bytes`);
      },
    })(c, next);
  });
  const authenticated = requireUser({ verifier: deps.verifier, limiter: deps.limiter, addressOf });

  // /healthz, /readyz and, in dev mode only, POST /api/dev/token.
  app.route(
    "/",
    systemRoutes({
      ready: deps.ready,
      devIssuer: deps.devIssuer,
      spendAnonymousBudget: (c) => enforce(deps.limiter, "anonRest", addressOf(c)),
    }),
  );
  // Prometheus scrapes this; like the health routes it has no auth and no rate limit.
  app.get("/metrics", async (c) => {
    const { registry } = deps.metrics;
    return c.body(await registry.metrics(), 200, { "content-type": registry.contentType });
  });
  // Browsers ask for it on every page; an empty answer keeps their consoles clean.
  app.get("/favicon.ico", (c) => c.body(null, 204));

  app.use("/api/chats/*", authenticated);
  app.route("/api/chats", chatsRoutes(deps.chat));
  app.use("/api/users/*", authenticated);
  app.route("/api/users", usersRoutes(deps.chat));
  app.use("/api/groups/*", authenticated).route("/api/groups", groupsRoutes(deps.chat));
  if (deps.uploads) app.route("/api/uploads", uploadsRoutes(deps.uploads, authenticated));
  if (deps.push?.webPush) app.route("/api/push", pushRoutes(deps.push.webPush, authenticated));
  if (deps.service) app.route("/api/service", serviceRoutes({ ...deps.service, chat: deps.chat }));

  serveOpenApiDocument(app);
  app.route("/", docsRoutes());

  for (const route of page.routes) app.get(route, page.serve);
  return app;
}
