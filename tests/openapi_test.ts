/**
 * /openapi.json and /docs: the document is OpenAPI 3.1, lists exactly the
 * routes the app serves, and the Swagger UI page needs nothing but this server.
 * (scripts/schemathesis.sh checks the server's answers against the document.)
 */
import type { TokenVerifier } from "../src/auth/tokens.ts";
import type { ChatService } from "../src/chat/chat_service.ts";
import { createHttpApp, type HttpAppDeps } from "../src/http/app.ts";
import { loadStaticPage } from "../src/http/static_page.ts";
import { unlimited } from "../src/limits/rate_limiter.ts";
import { createLogger } from "../src/log.ts";
import { createMetrics } from "../src/metrics/metrics.ts";
import type * as protocol from "../src/protocol/types.ts";
import type * as responses from "../src/schemas/responses.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { startTestServer } from "./helpers/server.ts";

// The response schemas the document is generated from must describe what the
// server sends: each of these fails to compile when the two drift apart.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const schemasMatchTheProtocol: [
  Same<responses.ChatMessage, protocol.ChatMessage>,
  Same<responses.ConversationRow, protocol.ConversationRow>,
  Same<responses.UserSummary, protocol.UserSummary>,
  Same<responses.ErrorBody, Omit<protocol.ErrorPayload, "event">>,
  Same<responses.Group, protocol.Group>,
  Same<responses.GroupConversationRow, protocol.GroupConversationRow>,
] = [true, true, true, true, true, true];

interface Operation {
  security?: Record<string, string[]>[];
  requestBody?: { content: Record<string, { schema: unknown }> };
  responses: Record<string, {
    headers?: Record<string, unknown>;
    content?: Record<string, { schema: unknown }>;
  }>;
}
interface OpenApiDocument {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { securitySchemes: Record<string, { type: string; scheme: string }> };
}

/** Served by the app but not part of the REST API: the web client, metrics, these docs. */
const NOT_API = new Set([
  ...(await loadStaticPage()).routes,
  "/favicon.ico",
  "/metrics",
  "/openapi.json",
  "/docs",
]);

function isApiRoute(path: string): boolean {
  return !NOT_API.has(path) && !path.startsWith("/docs/");
}

/** The app in-process, every optional router mounted (dev mode, uploads, Web Push). */
function appWith(overrides: Partial<HttpAppDeps> = {}) {
  // Services whose methods these tests never reach (and which is no promise).
  const unused = new Proxy({}, {
    get: (_, key) =>
      key === "then" ? undefined : () => Promise.reject(new Error("not used by these tests")),
  });
  return createHttpApp({
    chat: unused as ChatService,
    verifier: unused as TokenVerifier,
    devIssuer: { issue: (userId) => Promise.resolve(`token-of-${userId}`) },
    corsOrigins: [],
    hosts: { loopbackOnly: false, names: "any" },
    ready: () => Promise.resolve(),
    limiter: unlimited,
    maxBodyBytes: 65_536,
    metrics: createMetrics(),
    trustProxy: false,
    log: createLogger("silent"),
    uploads: unused,
    push: { webPush: unused },
    ...overrides,
  } as HttpAppDeps);
}

async function documentOf(app: Awaited<ReturnType<typeof appWith>>): Promise<OpenApiDocument> {
  const res = await app.request("/openapi.json");
  assertEquals(res.status, 200);
  assert(res.headers.get("content-type")?.startsWith("application/json"));
  return await res.json();
}

/** `GET /api/chats/history/{userId}` for every operation of the document. */
function operationsOf(document: OpenApiDocument): string[] {
  return Object.entries(document.paths).flatMap(([path, methods]) =>
    Object.keys(methods).map((method) => `${method.toUpperCase()} ${path}`)
  ).sort();
}

Deno.test("GET /openapi.json is an OpenAPI 3.1 document of every route the app serves", async () => {
  assertEquals(schemasMatchTheProtocol, [true, true, true, true, true, true]);
  const app = await appWith();
  const document = await documentOf(app);
  assertEquals(document.openapi, "3.1.0");

  const served = app.routes
    .filter((route) => route.method !== "ALL" && isApiRoute(route.path))
    .map((route) => `${route.method} ${route.path.replace(/:([^/]+)/g, "{$1}")}`);
  assertEquals(operationsOf(document), [...new Set(served)].sort());

  // The README's routes, by name, so that an empty document cannot pass.
  for (
    const operation of [
      "GET /api/chats/my-chats",
      "GET /api/chats/conversations",
      "GET /api/chats/history/{userId}",
      "DELETE /api/chats/{messageId}",
      "GET /healthz",
      "GET /readyz",
      "POST /api/dev/token",
    ]
  ) assert(operationsOf(document).includes(operation), `${operation} is documented`);
});

Deno.test("GET /openapi.json: chat routes need the Bearer token and document their errors", async () => {
  const document = await documentOf(await appWith());
  assertEquals(document.components.securitySchemes.bearerAuth?.scheme, "bearer");
  for (const [path, methods] of Object.entries(document.paths)) {
    if (!path.startsWith("/api/chats/")) continue;
    for (const [method, operation] of Object.entries(methods)) {
      const where = `${method} ${path}`;
      assertEquals(operation.security, [{ bearerAuth: [] }], where);
      for (const status of ["200", "400", "401", "403", "429", "500", "503"]) {
        assert(operation.responses[status], `${where} documents ${status}`);
      }
      assert(operation.responses["429"]?.headers?.["Retry-After"], `${where}: Retry-After`);
    }
  }
  const remove = document.paths["/api/chats/{messageId}"]?.delete;
  assert(remove?.responses["404"] && remove.responses["413"]);
});

Deno.test("GET /openapi.json lists POST /api/dev/token only in dev mode", async () => {
  const document = await documentOf(await appWith({ devIssuer: undefined }));
  assert(!operationsOf(document).includes("POST /api/dev/token"));
  assert(operationsOf(document).includes("GET /api/chats/my-chats"));
});

Deno.test("POST /api/dev/token answers a body that is not JSON with a VALIDATION_ERROR", async () => {
  const app = await appWith();
  for (
    const init of [
      { body: '{"userId":"dana"}', headers: { "content-type": "text/plain" } },
      { body: "{not json", headers: { "content-type": "application/json" } },
      { body: '{"userId":"  "}', headers: { "content-type": "application/json" } },
    ]
  ) {
    const res = await app.request("/api/dev/token", { method: "POST", ...init });
    assertEquals(res.status, 400, init.body);
    const body = await res.json();
    assertEquals(body.code, "VALIDATION_ERROR");
    assertEquals(typeof body.error, "string");
  }
  const ok = await app.request("/api/dev/token", {
    method: "POST",
    body: '{"userId":"dana"}',
    headers: { "content-type": "application/json; charset=utf-8" },
  });
  assertEquals(await ok.json(), { token: "token-of-dana" });
});

Deno.test("GET /docs serves Swagger UI from this server, with no inline script, under the CSP", async () => {
  await using server = await startTestServer();
  const res = await fetch(`${server.url}/docs`);
  assertEquals(res.status, 200);
  assert(res.headers.get("content-type")?.startsWith("text/html"));
  const csp = res.headers.get("content-security-policy") ?? "";
  assert(csp.includes("script-src 'self'") && csp.includes("style-src 'self'"), csp);
  const html = await res.text();
  assert(!/https?:\/\//.test(html), "nothing from another host");
  assert(!/<script(?![^>]*\bsrc=)[^>]*>/.test(html), "no inline script");
  assert(!/\sstyle=|<style/.test(html), "no inline style");

  const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!);
  assertEquals(assets.sort(), [
    "/docs/init.js",
    "/docs/swagger-ui-bundle.js",
    "/docs/swagger-ui.css",
  ]);
  for (const asset of assets) {
    const file = await fetch(`${server.url}${asset}`);
    assertEquals(file.status, 200, asset);
    const type = file.headers.get("content-type") ?? "";
    assert(type.startsWith(asset.endsWith(".css") ? "text/css" : "text/javascript"), type);
    const text = await file.text();
    if (asset.endsWith("init.js")) assert(text.includes('"/openapi.json"'), text);
    if (asset.endsWith("bundle.js")) assert(text.includes("SwaggerUIBundle"));
  }
});

Deno.test("GET /openapi.json describes upload bodies and file downloads, and push only when served", async () => {
  const document = await documentOf(await appWith());
  const upload = document.paths["/api/uploads"]?.post;
  assertEquals(upload?.requestBody?.content, {
    "application/octet-stream": { schema: { type: "string", format: "binary" } },
    "multipart/form-data": {
      schema: {
        type: "object",
        properties: { file: { type: "string", format: "binary" } },
        required: ["file"],
      },
    },
  });
  const download = document.paths["/api/uploads/{id}"]?.get;
  for (const status of ["200", "206"]) {
    const response = download?.responses[status];
    assertEquals(response?.content?.["*/*"]?.schema, { type: "string", format: "binary" }, status);
    for (const header of ["Content-Type", "Content-Length", "Content-Disposition", "ETag"]) {
      assert(response?.headers?.[header], `${status} documents ${header}`);
    }
  }
  assert(download?.responses["206"]?.headers?.["Content-Range"]);
  for (const status of ["304", "403", "404", "416"]) {
    assert(download?.responses[status], `GET /api/uploads/{id} documents ${status}`);
  }
  assert(document.paths["/api/push/subscriptions"]?.post?.requestBody?.content["application/json"]);

  const bare = await documentOf(await appWith({ uploads: undefined, push: undefined }));
  assertEquals(operationsOf(bare).filter((op) => /\/api\/(uploads|push)/.test(op)), []);
});

Deno.test("POST/DELETE /api/push/subscriptions answer a body that is not JSON with a VALIDATION_ERROR", async () => {
  const app = await appWith({
    verifier: { verify: () => Promise.resolve({ userId: "dana", username: "dana" }) },
  });
  for (const method of ["POST", "DELETE"]) {
    for (const headers of [{ "content-type": "text/plain" }, {}] as Record<string, string>[]) {
      const res = await app.request("/api/push/subscriptions", {
        method,
        body: '{"endpoint":"https://push.example.com/x"}',
        headers: { authorization: "Bearer t", ...headers },
      });
      assertEquals(res.status, 400, `${method} ${JSON.stringify(headers)}`);
      assertEquals(await res.json(), {
        error: "Body must be JSON (Content-Type: application/json)",
        code: "VALIDATION_ERROR",
      });
    }
  }
});
