/**
 * The web client: a fixed set of files, read once, so no path can escape `public/`.
 *
 * The ES modules and the style sheet also go to pages of other origins (a host
 * app embedding `<parley-chat>`): a cross-origin module script is fetched in
 * CORS mode, so they carry `Access-Control-Allow-Origin` for the page's origin.
 * The origin guard in front has already refused every origin not in
 * `CORS_ORIGINS`, so echoing the one that got here allows exactly those.
 */
import type { Context } from "hono";

const PUBLIC_DIR = new URL("../../public/", import.meta.url);

const HTML = "text/html; charset=utf-8";
const JS = "text/javascript; charset=utf-8";

/** The modules under public/js/, each served at /js/<name>. */
const MODULES = [
  "api.js",
  "chat_app.js",
  "composer.js",
  "connection.js",
  "conversation_list.js",
  "dom.js",
  "format.js",
  "group_panel.js",
  "groups.js",
  "layout.js",
  "message_list.js",
  "message_menu.js",
  "notifications.js",
  "outbox.js",
  "reactions.js",
  "read_by_dialog.js",
  "report_dialog.js",
  "search_panel.js",
  "toast.js",
  "uploads.js",
];

const FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: HTML },
  "/test-websocket.html": { file: "index.html", type: HTML },
  "/app.js": { file: "app.js", type: JS },
  "/parley-chat.js": { file: "parley-chat.js", type: JS },
  // The service worker of the page's Web Push (its scope is the whole origin).
  "/sw.js": { file: "sw.js", type: JS },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
  ...Object.fromEntries(MODULES.map((m) => [`/js/${m}`, { file: `js/${m}`, type: JS }])),
};

export async function loadStaticPage() {
  const bodies = new Map<string, { body: Uint8Array<ArrayBuffer>; type: string }>();
  for (const [route, { file, type }] of Object.entries(FILES)) {
    bodies.set(route, { body: await Deno.readFile(new URL(file, PUBLIC_DIR)), type });
  }
  return {
    routes: [...bodies.keys()],
    serve(c: Context) {
      const found = bodies.get(c.req.path)!;
      const headers: Record<string, string> = {
        "content-type": found.type,
        "cache-control": "no-cache",
        vary: "Origin",
      };
      const origin = c.req.header("origin");
      if (origin && found.type !== HTML) {
        // Loaded in CORS mode (modules; the element's <link crossorigin>), so the
        // same-origin Cross-Origin-Resource-Policy of secureHeaders does not apply.
        headers["access-control-allow-origin"] = origin;
      }
      return c.body(found.body, 200, headers);
    },
  };
}
