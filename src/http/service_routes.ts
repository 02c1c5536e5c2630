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
import { BlockEntry, ChatMessage, Report } from "../schemas/responses.ts";
import type { StoreBackend } from "../store/backend.ts";
import type { ChatStore } from "../store/repository.ts";
import { exportUser } from "./user_export.ts";
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

const Timestamp = z.iso.datetime();

const UserRecord = z.object({
  _id: z.string(),
  username: z.string().nullable(),
  email: z.string().nullable(),
  isOnline: z.boolean(),
  lastSeen: Timestamp.nullable(),
  createdAt: Timestamp,
  updatedAt: Timestamp,
}).meta({ id: "UserRecord" });

const UserExport = z.object({
  userId: z.string(),
  exportedAt: Timestamp,
  user: UserRecord.nullable().meta({ description: "Null when no user record is stored." }),
  messages: z.array(ChatMessage).meta({
    description: "Every message the user sent or received, oldest first (also those they " +
      "deleted for themselves); their reactions are in each message's `reactions`.",
  }),
  reportsFiled: z.array(Report),
  reportsAgainst: z.array(Report.omit({ reporterId: true, note: true })).meta({
    description: "Reports of the user's messages, without who filed them or their note.",
  }),
  blocks: z.array(BlockEntry).meta({ description: "The users this user blocks." }),
  mutes: z.array(z.object({ partnerId: z.string(), until: Timestamp.nullable() })),
  pushSubscriptions: z.array(z.object({
    endpoint: z.string(),
    createdAt: Timestamp,
    expirationTime: z.number().nullable(),
  })).meta({ description: "Endpoints only: their keys are not exported." }),
  uploads: z.array(z.object({
    _id: z.string(),
    name: z.string(),
    mime: z.string(),
    kind: z.string(),
    size: z.number().int(),
    createdAt: Timestamp,
    sent: z.boolean(),
  })).meta({ description: "Metadata of the files the user uploaded (not their bytes)." }),
}).meta({ id: "UserExport" });

const exportUserRoute = createRoute({
  method: "get",
  path: "/users/{userId}/export",
  tags: TAGS,
  summary: "Export everything stored about a user",
  description: "One JSON document for a data-subject access request. It is streamed as it is " +
    "read, page by page, so a long history never sits in memory whole; a store failure " +
    "after the first bytes ends the body early (invalid JSON): retry the request.",
  security: SERVICE_SECURITY,
  request: { params: z.object({ userId: UserId }) },
  responses: {
    200: jsonResponse(UserExport, "The user's data (empty lists for an unknown user)."),
    ...errorResponses({ VALIDATION_ERROR: "A malformed `userId`.", ...SERVICE_ERRORS }),
  },
});

const Erased = z.object({
  userId: z.string(),
  disconnected: z.number().int().min(0).meta({ description: "Sockets dropped first." }),
  removed: z.object({
    messages: z.number().int(),
    conversations: z.number().int(),
    uploads: z.number().int(),
    subscriptions: z.number().int(),
    blocks: z.number().int(),
    mutes: z.number().int(),
    hiddenMessages: z.number().int(),
    reactions: z.number().int(),
    reports: z.number().int(),
    users: z.number().int(),
  }).meta({ description: "How many of each kind were removed." }),
}).meta({ id: "Erasure" });

const eraseUserRoute = createRoute({
  method: "delete",
  path: "/users/{userId}",
  tags: TAGS,
  summary: "Erase a user",
  description: "Right to erasure: drops the user's sockets, then removes their messages for " +
    "both sides (the partners' histories, conversation rows and unread counts follow), their " +
    "uploads (and partners' files only those messages carried), push subscriptions, blocks " +
    "and mutes both ways, delete-for-me marks, reactions, the reports they filed and their " +
    "user record. Reports filed against them stay for moderation. With MongoDB a call that " +
    "failed part-way is finished by calling again; a repeat removes nothing more.",
  security: SERVICE_SECURITY,
  request: { params: z.object({ userId: UserId }) },
  responses: {
    200: jsonResponse(Erased, "Erased."),
    ...errorResponses({ VALIDATION_ERROR: "A malformed `userId`.", ...SERVICE_ERRORS }),
  },
});

const listReportsRoute = createRoute({
  method: "get",
  path: "/reports",
  tags: TAGS,
  summary: "List reports, newest first",
  description: "For the host app's moderation. Page with `before` = the last `_id` received.",
  security: SERVICE_SECURITY,
  request: {
    query: z.object({
      limit: z.coerce.number().int().min(1).max(200).default(50),
      before: z.string().min(1).max(64).optional(),
    }),
  },
  responses: {
    200: jsonResponse(z.array(Report), "Reports older than `before`, newest first."),
    ...errorResponses({ VALIDATION_ERROR: "A malformed `limit` or `before`.", ...SERVICE_ERRORS }),
  },
});

export interface ServiceRoutesDeps {
  keys: readonly string[];
  chat: ChatService;
  sessions: UserSessions;
  /** The chat store as the services see it (messages opened when encrypted at rest). */
  store: ChatStore;
  backend: Pick<StoreBackend, "uploads" | "subscriptions" | "erasure">;
}

export function serviceRoutes({ keys, chat, sessions, store, backend }: ServiceRoutesDeps) {
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
    })
    .openapi(exportUserRoute, async (c) => {
      const { userId } = c.req.valid("param");
      const body = await exportUser(userId, { store, backend });
      return new Response(body, {
        status: 200,
        headers: {
          "content-type": "application/json; charset=utf-8",
          "content-disposition": `attachment; filename="parley-export.json"`,
          "cache-control": "no-store",
        },
      });
    })
    .openapi(eraseUserRoute, async (c) => {
      const { userId } = c.req.valid("param");
      // First, so that no socket of theirs writes while their data goes.
      const disconnected = await sessions.disconnectUser(userId, "Your account was deleted");
      const removed = await backend.erasure.eraseUser(userId);
      return c.json({ userId, disconnected, removed }, 200);
    })
    .openapi(listReportsRoute, async (c) => {
      const query = c.req.valid("query");
      return c.json(await store.reports.list(query), 200);
    });
}
