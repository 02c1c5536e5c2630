/**
 * `/api/uploads`: store a file (multipart or raw body), download it (whole or
 * a byte range). Thin over UploadService, which holds the rules. Each route's
 * schemas validate its query and path and generate its part of /openapi.json.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { AuthVariables } from "../auth/http_auth.ts";
import { AppError } from "../errors.ts";
import { UploadId, UploadQuery } from "../schemas/attachment_inputs.ts";
import { FileAttachment } from "../schemas/inputs.ts";
import { firstFilePart } from "../uploads/multipart.ts";
import { parseRange } from "../uploads/range.ts";
import type { UploadService } from "../uploads/upload_service.ts";
import type { UploadRecord } from "../store/upload_store.ts";
import {
  AUTHENTICATED_ERRORS,
  BEARER_SECURITY,
  errorResponses,
  jsonResponse,
  openApiRouter,
} from "./openapi.ts";

type Env = { Variables: AuthVariables };

/** Room for multipart boundaries and part headers on top of the file itself. */
const MULTIPART_OVERHEAD = 64 * 1024;
/** Shown by browsers and players rather than saved. */
const INLINE_KINDS = new Set(["image", "video", "audio"]);

const TAGS = ["uploads"];

/**
 * The request body as a plain JSON Schema, not zod: a zod schema would make the
 * router buffer the whole body to validate it (and refuse every file type not
 * listed with a 415), where an upload is streamed and checked as it arrives.
 */
const BINARY_BODY = { type: "string", format: "binary" } as const;
const Binary = z.string().meta({ format: "binary" });

const FileHeaders = z.object({
  "Content-Type": z.string().meta({ description: "The type detected from the file's bytes." }),
  "Content-Length": z.string().regex(/^\d+$/),
  "Content-Disposition": z.string().meta({
    description: "`inline` for images, video and audio, else `attachment`, with the file name.",
  }),
  "ETag": z.string().meta({ description: "The upload id, quoted; uploads never change." }),
  "Accept-Ranges": z.literal("bytes"),
});

const storeFile = createRoute({
  method: "post",
  path: "/",
  tags: TAGS,
  summary: "Store a file to send in a message",
  description: "The body is the file itself, or `multipart/form-data` whose first file part " +
    "is. Its type is detected from its bytes (the declared type is only a hint). Send the " +
    "answer as a message's `file`; an upload no message carries is removed after " +
    "UPLOAD_RETENTION_MS.",
  security: BEARER_SECURITY,
  request: {
    query: UploadQuery,
    body: {
      required: true,
      content: {
        "application/octet-stream": { schema: BINARY_BODY },
        "multipart/form-data": {
          schema: { type: "object", properties: { file: BINARY_BODY }, required: ["file"] },
        },
      },
    },
  },
  responses: {
    201: jsonResponse(FileAttachment, "Stored; the `file` object for `sendMessage`."),
    ...errorResponses({
      VALIDATION_ERROR: "An empty file, a malformed multipart body or one without a file part, " +
        "or a malformed `name`.",
      ...AUTHENTICATED_ERRORS,
      PAYLOAD_TOO_LARGE: "A file over UPLOAD_MAX_BYTES.",
      QUOTA_EXCEEDED: "A file that would take the caller's stored uploads (sent or not) past " +
        "UPLOAD_QUOTA_BYTES.",
      UNSUPPORTED_TYPE: "Bytes of a type not accepted (images, video, audio, PDF, Office and " +
        "text files are).",
    }),
  },
});

const downloadFile = createRoute({
  method: "get",
  path: "/{id}",
  tags: TAGS,
  summary: "Download a file, whole or a byte range",
  description: "For its uploader and the receivers of messages carrying it.",
  security: BEARER_SECURITY,
  request: {
    params: z.object({ id: UploadId }),
    headers: z.object({
      range: z.string().optional().meta({ description: "One range: `bytes=start-end`." }),
      "if-range": z.string().optional(),
      "if-none-match": z.string().optional(),
    }),
  },
  responses: {
    200: {
      description: "The whole file.",
      headers: FileHeaders,
      content: { "*/*": { schema: Binary } },
    },
    206: {
      description: "The requested range.",
      headers: FileHeaders.extend({
        "Content-Range": z.string().meta({ description: "`bytes start-end/size`." }),
      }),
      content: { "*/*": { schema: Binary } },
    },
    304: { description: "`If-None-Match` names this file: the cached copy is current." },
    ...errorResponses({
      VALIDATION_ERROR: "A malformed `id`.",
      ...AUTHENTICATED_ERRORS,
      FORBIDDEN: "Neither the uploader nor a receiver of the file; or " +
        "a browser `Origin` not in `CORS_ORIGINS`.",
      NOT_FOUND: "No such upload (or it was removed).",
      RANGE_NOT_SATISFIABLE: "The `Range` lies outside the file (see `Content-Range`).",
    }),
  },
});

export function uploadsRoutes(uploads: UploadService, authenticated: MiddlewareHandler<Env>) {
  const router = openApiRouter<Env>();
  router.use("*", authenticated);
  return router
    .openapi(storeFile, async function storeUpload(c) {
      const query = c.req.valid("query");
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
    .openapi(downloadFile, async function downloadUpload(c) {
      const { id } = c.req.valid("param");
      const conditions = c.req.valid("header");
      const record = await uploads.readable(c.var.identity.userId, id);
      const headers = fileHeaders(record);
      if (conditions["if-none-match"] === headers.ETag) {
        return new Response(null, { status: 304, headers });
      }
      // Uploads never change, so any If-Range other than our ETag means "send it whole".
      const ifRange = conditions["if-range"];
      const range = ifRange && ifRange !== headers.ETag
        ? undefined
        : parseRange(conditions.range, record.size);
      if (range === null) {
        // Kept on the error answer, which app.ts builds like every other.
        c.header("Content-Range", `bytes */${record.size}`);
        throw new AppError(
          "RANGE_NOT_SATISFIABLE",
          `Range outside the file (${record.size} bytes)`,
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
