/**
 * `/docs`: Swagger UI for /openapi.json. Its script and style come from the
 * pinned `swagger-ui-dist` package through this app (no CDN), and it starts
 * from a script file of ours, so the page runs under the app's CSP
 * (`default-src 'self'`, no inline script or style).
 */
import { join } from "node:path";
import { Hono } from "hono";
import swaggerUiDirectory from "swagger-ui-dist/absolute-path.js";

export const DOCS_PATH = "/docs";

const PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Parley REST API</title>
<link rel="stylesheet" href="${DOCS_PATH}/swagger-ui.css">
<script src="${DOCS_PATH}/swagger-ui-bundle.js" defer></script>
<script src="${DOCS_PATH}/init.js" defer></script>
</head>
<body>
<div id="swagger-ui"></div>
</body>
</html>
`;

/** No validator badge: it would load an image from the internet. */
const INIT_SCRIPT = `"use strict";
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  validatorUrl: null,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
`;

/** Files of swagger-ui-dist served under DOCS_PATH, each read once, on its first request. */
const PACKAGE_FILES: Record<string, string> = {
  "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
  "swagger-ui.css": "text/css; charset=utf-8",
};

const loaded = new Map<string, Promise<Uint8Array<ArrayBuffer>>>();

function packageFile(name: string): Promise<Uint8Array<ArrayBuffer>> {
  let file = loaded.get(name);
  if (!file) {
    file = Deno.readFile(join(swaggerUiDirectory(), name));
    // A failed read is retried on the next request rather than remembered.
    file.catch(() => loaded.delete(name));
    loaded.set(name, file);
  }
  return file;
}

/** The pinned package's files change only with its version: let browsers keep them a day. */
const ASSET_CACHE = "public, max-age=86400";

/** Routes of the documentation page; mount at the root. */
export function docsRoutes(): Hono {
  const app = new Hono();
  app.get(DOCS_PATH, (c) => c.html(PAGE, 200, { "cache-control": "no-cache" }));
  app.get(`${DOCS_PATH}/init.js`, (c) =>
    c.body(INIT_SCRIPT, 200, {
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": "no-cache",
    }));
  for (const [name, type] of Object.entries(PACKAGE_FILES)) {
    app.get(`${DOCS_PATH}/${name}`, async (c) =>
      c.body(await packageFile(name), 200, {
        "content-type": type,
        "cache-control": ASSET_CACHE,
      }));
  }
  return app;
}
