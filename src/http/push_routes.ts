/** `/api/push`: Web Push subscriptions of the caller (present only when VAPID keys are set). */
import { Hono, type MiddlewareHandler } from "hono";
import type { AuthVariables } from "../auth/http_auth.ts";
import { AppError } from "../errors.ts";
import type { WebPushSender } from "../push/web_push_sender.ts";
import { PushSubscriptionInput, PushUnsubscribeInput } from "../schemas/attachment_inputs.ts";
import { parseInput } from "../schemas/parse.ts";

type Env = { Variables: AuthVariables };

export function pushRoutes(webPush: WebPushSender, authenticated: MiddlewareHandler<Env>) {
  return new Hono<Env>()
    // The application server key a page passes to pushManager.subscribe(); public by design.
    .get("/vapid-public-key", (c) => c.json({ publicKey: webPush.publicKey }))
    .use("/subscriptions", authenticated)
    .post("/subscriptions", async (c) => {
      const input = parseInput(PushSubscriptionInput, await jsonBody(c.req));
      const saved = await webPush.subscribe(c.var.identity.userId, input);
      return c.json({ endpoint: saved.endpoint, createdAt: saved.createdAt }, 201);
    })
    .delete("/subscriptions", async (c) => {
      const { endpoint } = parseInput(PushUnsubscribeInput, await jsonBody(c.req));
      return c.json({ deleted: await webPush.unsubscribe(c.var.identity.userId, endpoint) });
    });
}

async function jsonBody(request: { json(): Promise<unknown> }): Promise<unknown> {
  try {
    return await request.json();
  } catch {
    throw new AppError("VALIDATION_ERROR", "Body must be JSON");
  }
}
