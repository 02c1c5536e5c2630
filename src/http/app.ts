/** The Hono app: REST routes, the dev token route, health and the test page. */
import { Hono } from "hono";
import { cors } from "hono/cors";
import { HTTPException } from "hono/http-exception";
import { requireUser } from "../auth/http_auth.ts";
import type { TokenIssuer, TokenVerifier } from "../auth/tokens.ts";
import type { ChatService } from "../chat/chat_service.ts";
import { AppError, toErrorBody } from "../errors.ts";
import { errorFields, type Logger } from "../log.ts";
import { DevTokenInput } from "../schemas/inputs.ts";
import { parseInput } from "../schemas/parse.ts";
import { chatsRoutes } from "./chats_routes.ts";
import { loadStaticPage } from "./static_page.ts";

export interface HttpAppDeps {
  chat: ChatService;
  verifier: TokenVerifier;
  /** Present only in dev mode: enables `POST /api/dev/token`. */
  devIssuer?: TokenIssuer;
  corsOrigins: "*" | readonly string[];
  /** Resolves when every backing service answers (the store, later Redis). */
  ready: () => Promise<void>;
  log: Logger;
}

export async function createHttpApp(deps: HttpAppDeps): Promise<Hono> {
  const app = new Hono();
  const page = await loadStaticPage();

  app.onError((err, c) => {
    if (err instanceof HTTPException && !(err instanceof AppError)) {
      return c.json({ error: err.message || "Bad request", code: "VALIDATION_ERROR" }, err.status);
    }
    const body = toErrorBody(err, (e) => deps.log.error("request failed", errorFields(e)));
    const status = err instanceof AppError ? err.status : 500;
    return c.json(body, status as 400);
  });
  app.notFound((c) => c.json({ error: "Route not found", code: "NOT_FOUND" }, 404));

  const origins = deps.corsOrigins;
  app.use(
    "/api/*",
    cors({
      origin: origins === "*" ? "*" : [...origins],
      allowHeaders: ["Authorization", "Content-Type"],
    }),
  );

  // Alive: the process answers. Ready: it can also reach its store.
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.get("/readyz", async (c) => {
    try {
      await deps.ready();
      return c.json({ status: "ready" });
    } catch {
      return c.json({ status: "unavailable", code: "STORE_UNAVAILABLE" }, 503);
    }
  });
  // Browsers ask for it on every page; an empty answer keeps their consoles clean.
  app.get("/favicon.ico", (c) => c.body(null, 204));

  if (deps.devIssuer) {
    const issuer = deps.devIssuer;
    app.post("/api/dev/token", async (c) => {
      const body = await c.req.json().catch(() => {
        throw new AppError("VALIDATION_ERROR", "Body must be JSON");
      });
      const input = parseInput(DevTokenInput, body);
      return c.json({ token: await issuer.issue(input.userId, input.username) });
    });
  }

  app.use("/api/chats/*", requireUser(deps.verifier));
  app.route("/api/chats", chatsRoutes(deps.chat));

  for (const route of page.routes) app.get(route, page.serve);
  return app;
}
