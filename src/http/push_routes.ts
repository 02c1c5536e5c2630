/**
 * `/api/push`: Web Push subscriptions of the caller (present only when VAPID
 * keys are set). Each route's schemas validate its body and generate its part
 * of /openapi.json.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { MiddlewareHandler } from "hono";
import type { AuthVariables } from "../auth/http_auth.ts";
import type { WebPushSender } from "../push/web_push_sender.ts";
import { PushSubscriptionInput, PushUnsubscribeInput } from "../schemas/attachment_inputs.ts";
import {
  AUTHENTICATED_ERRORS,
  BEARER_SECURITY,
  errorResponses,
  jsonResponse,
  openApiRouter,
  ORIGIN_REFUSED,
  requireJsonBody,
} from "./openapi.ts";

type Env = { Variables: AuthVariables };

const TAGS = ["push"];

const vapidPublicKey = createRoute({
  method: "get",
  path: "/vapid-public-key",
  tags: TAGS,
  summary: "The application server key for `pushManager.subscribe()`",
  description: "Public by design; present only when Web Push is configured (VAPID_*).",
  responses: {
    200: jsonResponse(z.object({ publicKey: z.string() }), "The VAPID public key, base64url."),
    ...errorResponses({ FORBIDDEN: ORIGIN_REFUSED }),
  },
});

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

const subscribe = createRoute({
  method: "post",
  path: "/subscriptions",
  tags: TAGS,
  summary: "Keep a Web Push subscription of mine",
  description: "The body is what a browser's `PushSubscription.toJSON()` gives.",
  security: BEARER_SECURITY,
  middleware: [requireJsonBody] as const,
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
});

const unsubscribe = createRoute({
  method: "delete",
  path: "/subscriptions",
  tags: TAGS,
  summary: "Forget a Web Push subscription of mine",
  security: BEARER_SECURITY,
  middleware: [requireJsonBody] as const,
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
});

export function pushRoutes(webPush: WebPushSender, authenticated: MiddlewareHandler<Env>) {
  const router = openApiRouter<Env>();
  router.use("/subscriptions", authenticated);
  return router
    // The application server key a page passes to pushManager.subscribe(); public by design.
    .openapi(vapidPublicKey, (c) => c.json({ publicKey: webPush.publicKey }, 200))
    .openapi(subscribe, async (c) => {
      const saved = await webPush.subscribe(c.var.identity.userId, c.req.valid("json"));
      return c.json({ endpoint: saved.endpoint, createdAt: saved.createdAt }, 201);
    })
    .openapi(unsubscribe, async (c) => {
      const { endpoint } = c.req.valid("json");
      return c.json({ deleted: await webPush.unsubscribe(c.var.identity.userId, endpoint) }, 200);
    });
}
