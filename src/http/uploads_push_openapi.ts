/**
 * The OpenAPI description of `/api/uploads` and `/api/push`, whose routers are
 * plain Hono routers (src/http/uploads_routes.ts, push_routes.ts). Their
 * inputs are the same zod schemas those routers validate with; the rest is
 * written here, so tests/openapi_test.ts fails when the routes served and the
 * routes described differ, and scripts/schemathesis.sh checks the answers.
 * Built with `openApiRouter()` + `createRoute()`, a router would document
 * itself and its entry here would go.
 */
import { type RouteConfig, z } from "@hono/zod-openapi";
import { FileAttachment } from "../schemas/inputs.ts";
import {
  PushSubscriptionInput,
  PushUnsubscribeInput,
  UploadId,
  UploadQuery,
} from "../schemas/attachment_inputs.ts";
import {
  AUTHENTICATED_ERRORS,
  BEARER_SECURITY,
  errorResponses,
  jsonResponse,
  ORIGIN_REFUSED,
} from "./openapi.ts";

const Binary = z.string().meta({ format: "binary" });

const fileHeaders = z.object({
  "Content-Type": z.string().meta({ description: "The type detected from the file's bytes." }),
  "Content-Length": z.string().regex(/^\d+$/),
  "Content-Disposition": z.string().meta({
    description: "`inline` for images, video and audio, else `attachment`, with the file name.",
  }),
  "ETag": z.string().meta({ description: "The upload id, quoted; uploads never change." }),
  "Accept-Ranges": z.literal("bytes"),
});

const uploadFile: RouteConfig = {
  method: "post",
  path: "/api/uploads",
  tags: ["uploads"],
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
        "application/octet-stream": { schema: Binary },
        "multipart/form-data": { schema: z.object({ file: Binary }) },
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
};

const downloadFile: RouteConfig = {
  method: "get",
  path: "/api/uploads/{id}",
  tags: ["uploads"],
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
      headers: fileHeaders,
      content: { "*/*": { schema: Binary } },
    },
    206: {
      description: "The requested range.",
      headers: fileHeaders.extend({
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
};

const vapidPublicKey: RouteConfig = {
  method: "get",
  path: "/api/push/vapid-public-key",
  tags: ["push"],
  summary: "The application server key for `pushManager.subscribe()`",
  description: "Public by design; present only when Web Push is configured (VAPID_*).",
  responses: {
    200: jsonResponse(z.object({ publicKey: z.string() }), "The VAPID public key, base64url."),
    ...errorResponses({ FORBIDDEN: ORIGIN_REFUSED }),
  },
};

const PUSH_ERRORS = {
  ...AUTHENTICATED_ERRORS,
  PAYLOAD_TOO_LARGE: "A body over the API's limit (MAX_BODY_BYTES).",
} as const;

/** What `PushSubscription.toJSON()` gives (a made-up endpoint and keys). */
const SUBSCRIPTION_EXAMPLE = {
  endpoint: "https://push.example.com/send/c1KrmpTuRm",
  expirationTime: null,
  keys: {
    p256dh:
      "BAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0-P0A",
    auth: "AQIDBAUGBwgJCgsMDQ4PEA",
  },
};

const subscribe: RouteConfig = {
  method: "post",
  path: "/api/push/subscriptions",
  tags: ["push"],
  summary: "Keep a Web Push subscription of mine",
  description: "The body is what a browser's `PushSubscription.toJSON()` gives.",
  security: BEARER_SECURITY,
  request: {
    body: {
      required: true,
      content: {
        "application/json": {
          schema: PushSubscriptionInput.meta({ examples: [SUBSCRIPTION_EXAMPLE] }),
        },
      },
    },
  },
  responses: {
    201: jsonResponse(
      z.object({ endpoint: z.string(), createdAt: z.iso.datetime() }),
      "Kept (again, if it was already).",
    ),
    ...errorResponses({ VALIDATION_ERROR: "Not JSON, or not a subscription.", ...PUSH_ERRORS }),
  },
};

const unsubscribe: RouteConfig = {
  method: "delete",
  path: "/api/push/subscriptions",
  tags: ["push"],
  summary: "Forget a Web Push subscription of mine",
  security: BEARER_SECURITY,
  request: {
    body: { required: true, content: { "application/json": { schema: PushUnsubscribeInput } } },
  },
  responses: {
    200: jsonResponse(
      z.object({ deleted: z.boolean() }),
      "`deleted` is false when no subscription of mine had this endpoint.",
    ),
    ...errorResponses({ VALIDATION_ERROR: "Not JSON, or no `endpoint` URL.", ...PUSH_ERRORS }),
  },
};

/** Each is in the document only when the app serves it (push needs VAPID keys). */
export const UPLOADS_AND_PUSH_ROUTES: readonly RouteConfig[] = [
  uploadFile,
  downloadFile,
  vapidPublicKey,
  subscribe,
  unsubscribe,
];
