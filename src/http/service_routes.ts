/**
 * `/api/service/*`: the host backend's door, authenticated by a key from
 * `SERVICE_API_KEYS` instead of a user's token. It acts for users the host
 * names (system notices, order updates, bans) with the same rules, validation
 * and events as the users' own doors. Mounted only when keys are configured,
 * so without them these routes answer 404 and are not in /openapi.json.
 */
import { createRoute, z } from "@hono/zod-openapi";
import { requireServiceKey } from "../auth/service_keys.ts";
import type { ChatService } from "../chat/chat_service.ts";
import type { UserSessions } from "../realtime/user_sessions.ts";
import { ServiceSendInput, UserId } from "../schemas/inputs.ts";
import { ChatMessage } from "../schemas/responses.ts";
import { errorResponses, jsonResponse, openApiRouter } from "./openapi.ts";

const TAGS = ["service"];
/** Name of the service API's security scheme in /openapi.json. */
const SERVICE_KEY_AUTH = "serviceKey";
const SERVICE_SECURITY = [{ [SERVICE_KEY_AUTH]: [] }];

const SERVICE_ERRORS = {
  UNAUTHORIZED: "No service key, or one not in `SERVICE_API_KEYS`.",
  FORBIDDEN: "A browser `Origin` not listed in `CORS_ORIGINS`.",
  INTERNAL_ERROR: "Anything unexpected; the details are in the server log.",
  STORE_UNAVAILABLE: "The store did not answer in time; retry later.",
} as const;

const sendAsUser = createRoute({
  method: "post",
  path: "/messages",
  tags: TAGS,
  summary: "Send a message as a user",
  description: "Stored, confirmed and delivered exactly as if `senderId` had sent it over " +
    "its socket (`messageSent` to the sender's sockets, `receiveMessage` to the receiver's). " +
    "A repeat with the same `clientMessageId` answers the stored message with 200.",
  security: SERVICE_SECURITY,
  request: {
    body: { content: { "application/json": { schema: ServiceSendInput } }, required: true },
  },
  responses: {
    201: jsonResponse(ChatMessage, "Stored and sent."),
    200: jsonResponse(ChatMessage, "Already stored with this `clientMessageId`: nothing sent."),
    ...errorResponses({
      VALIDATION_ERROR: "A malformed field, no text and no file, or `receiverId` = `senderId`.",
      ...SERVICE_ERRORS,
      NOT_FOUND: "The `file` names an upload that does not exist.",
      PAYLOAD_TOO_LARGE: "A body over the API's limit.",
    }),
  },
});

const disconnectUser = createRoute({
  method: "post",
  path: "/users/{userId}/disconnect",
  tags: TAGS,
  summary: "Disconnect every socket of a user",
  description: 'Each socket first gets `messageError {code: "UNAUTHORIZED"}` with `reason`, ' +
    "on every node of a cluster. A client whose token is still valid may reconnect: stop " +
    "issuing tokens to a banned user and keep their lifetime short (`JWT_MAX_TTL`).",
  security: SERVICE_SECURITY,
  request: {
    params: z.object({ userId: UserId }),
    body: {
      content: {
        "application/json": {
          schema: z.object({ reason: z.string().trim().min(1).max(200).optional() }),
        },
      },
      required: false,
    },
  },
  responses: {
    200: jsonResponse(
      z.object({ disconnected: z.number().int().min(0) }),
      "How many sockets the user had.",
    ),
    ...errorResponses({
      VALIDATION_ERROR: "A malformed `userId` or `reason`.",
      ...SERVICE_ERRORS,
      PAYLOAD_TOO_LARGE: "A body over the API's limit.",
    }),
  },
});

export interface ServiceRoutesDeps {
  keys: readonly string[];
  chat: ChatService;
  sessions: UserSessions;
}

export function serviceRoutes({ keys, chat, sessions }: ServiceRoutesDeps) {
  const router = openApiRouter();
  router.openAPIRegistry.registerComponent("securitySchemes", SERVICE_KEY_AUTH, {
    type: "http",
    scheme: "bearer",
    description: "One of the keys in `SERVICE_API_KEYS`, for the host app's backend only.",
  });
  router.use("*", requireServiceKey(keys));
  return router
    .openapi(sendAsUser, async (c) => {
      const input = c.req.valid("json");
      const { message, duplicate } = await chat.sendMessage(input.senderId, input);
      return duplicate ? c.json(message, 200) : c.json(message, 201);
    })
    .openapi(disconnectUser, async (c) => {
      const { userId } = c.req.valid("param");
      // The body is optional: without one (no JSON content type) there is nothing to validate.
      const reason = (c.req.valid("json") as { reason?: string } | undefined)?.reason;
      const disconnected = await sessions.disconnectUser(
        userId,
        reason ?? "Your session was ended by the service",
      );
      return c.json({ disconnected }, 200);
    });
}
