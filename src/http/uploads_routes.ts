/**
 * `/api/uploads`: store a file (multipart or raw body), download it (whole or
 * a byte range). Thin over UploadService, which holds the rules.
 */
import { Hono, type MiddlewareHandler } from "hono";
import type { AuthVariables } from "../auth/http_auth.ts";
import { AppError } from "../errors.ts";
import { UploadId, UploadQuery } from "../schemas/attachment_inputs.ts";
import { parseInput } from "../schemas/parse.ts";
import { firstFilePart } from "../uploads/multipart.ts";
import { parseRange } from "../uploads/range.ts";
import type { UploadService } from "../uploads/upload_service.ts";
import type { UploadRecord } from "../store/upload_store.ts";

type Env = { Variables: AuthVariables };

/** Room for multipart boundaries and part headers on top of the file itself. */
const MULTIPART_OVERHEAD = 64 * 1024;
/** Shown by browsers and players rather than saved. */
const INLINE_KINDS = new Set(["image", "video", "audio"]);

export function uploadsRoutes(uploads: UploadService, authenticated: MiddlewareHandler<Env>) {
  return new Hono<Env>()
    .use("*", authenticated)
    .post("/", async function storeUpload(c) {
      const query = parseInput(UploadQuery, c.req.query());
      const contentType = c.req.header("content-type") ?? "";
      const multipart = /^multipart\/form-data\b/i.test(contentType);
      const declaredLength = Number(c.req.header("content-length") ?? NaN);
      if (declaredLength > uploads.maxBytes + (multipart ? MULTIPART_OVERHEAD : 0)) {
        throw new AppError("PAYLOAD_TOO_LARGE", `File larger than ${uploads.maxBytes} bytes`);
      }
      const body = c.req.raw.body;
      if (!body) throw new AppError("VALIDATION_ERROR", "The file is empty");
      const part = multipart
        ? await firstFilePart(body, contentType, uploads.maxBytes)
        : { body, name: undefined, declaredType: contentType || undefined };
      const record = await uploads.upload(c.var.identity.userId, {
        body: part.body,
        name: query.name ?? part.name,
        declaredType: part.declaredType,
      });
      return c.json(uploads.attachmentOf(record, new URL(c.req.url).origin), 201);
    })
    .get("/:id", async function downloadUpload(c) {
      const id = parseInput(UploadId, c.req.param("id"));
      const record = await uploads.readable(c.var.identity.userId, id);
      const headers = fileHeaders(record);
      if (c.req.header("if-none-match") === headers.ETag) {
        return new Response(null, { status: 304, headers });
      }
      // Uploads never change, so any If-Range other than our ETag means "send it whole".
      const ifRange = c.req.header("if-range");
      const range = ifRange && ifRange !== headers.ETag
        ? undefined
        : parseRange(c.req.header("range"), record.size);
      if (range === null) {
        return c.json(
          { error: `Range outside the file (${record.size} bytes)`, code: "RANGE_NOT_SATISFIABLE" },
          416,
          { "Content-Range": `bytes */${record.size}` },
        );
      }
      const status = range ? 206 : 200;
      headers["Content-Length"] = String(range ? range.end - range.start + 1 : record.size);
      if (range) headers["Content-Range"] = `bytes ${range.start}-${range.end}/${record.size}`;
      // HEAD: the headers only; opening the bytes would leave a file or cursor open.
      const body = c.req.method === "HEAD" ? null : await uploads.open(record, range);
      return new Response(body, { status, headers });
    });
}

function fileHeaders(record: UploadRecord): Record<string, string> {
  return {
    "Content-Type": record.mime,
    "Content-Disposition": contentDisposition(record),
    "X-Content-Type-Options": "nosniff",
    "Accept-Ranges": "bytes",
    "ETag": `"${record._id}"`,
    // Access can be withdrawn (a deleted message): caches keep it private and ask again.
    "Cache-Control": "private, no-cache",
  };
}

/** RFC 6266: an ASCII fallback and the exact UTF-8 name. */
export function contentDisposition(record: UploadRecord): string {
  const kind = INLINE_KINDS.has(record.kind) ? "inline" : "attachment";
  const fallback = record.name.replace(/[^\x20-\x7E]|["\\%]/g, "_");
  const exact = encodeURIComponent(record.name).replace(
    /['()*]/g,
    (ch) => `%${ch.charCodeAt(0).toString(16).toUpperCase()}`,
  );
  return `${kind}; filename="${fallback}"; filename*=UTF-8''${exact}`;
}
