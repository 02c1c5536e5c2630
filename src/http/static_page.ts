/** The test page: a fixed set of files, read once, so no path can escape `public/`. */
import type { Context } from "hono";

const PUBLIC_DIR = new URL("../../public/", import.meta.url);

const FILES: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/test-websocket.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
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
      return c.body(found.body, 200, {
        "content-type": found.type,
        "cache-control": "no-cache",
      });
    },
  };
}
