/**
 * `/api/chats/*`: the brief's REST routes, thin over ChatService. Each route's
 * zod schemas validate its request and generate its part of /openapi.json.
 * The Bearer check is the app's middleware on `/api/chats/*`.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { AuthVariables } from "../auth/http_auth.ts";
import type { ChatService } from "../chat/chat_service.ts";
import { HistoryQuery, MessageId, PageQuery, UserId } from "../schemas/inputs.ts";
import { ChatMessage, ConversationRow, DeletedMessage } from "../schemas/responses.ts";
import {
  AUTHENTICATED_ERRORS,
  BEARER_SECURITY,
  errorResponses,
  jsonResponse,
  openApiRouter,
} from "./openapi.ts";

const TAGS = ["chats"];
const BAD_PAGE =
  "`limit` outside 1–200, `skip` outside 0–10000 (page further back with `before`), or a malformed value.";

const myChats = createRoute({
  method: "get",
  path: "/my-chats",
  tags: TAGS,
  summary: "Messages I sent or received, newest first",
  security: BEARER_SECURITY,
  request: { query: PageQuery },
  responses: {
    200: jsonResponse(z.array(ChatMessage), "A page of messages, newest first."),
    ...errorResponses({ VALIDATION_ERROR: BAD_PAGE, ...AUTHENTICATED_ERRORS }),
  },
});

const conversations = createRoute({
  method: "get",
  path: "/conversations",
  tags: TAGS,
  summary: "One row per conversation partner, most recent first",
  security: BEARER_SECURITY,
  request: { query: PageQuery },
  responses: {
    200: jsonResponse(z.array(ConversationRow), "A page of conversations, most recent first."),
    ...errorResponses({ VALIDATION_ERROR: BAD_PAGE, ...AUTHENTICATED_ERRORS }),
  },
});

const history = createRoute({
  method: "get",
  path: "/history/{userId}",
  tags: TAGS,
  summary: "My conversation with a user",
  description: "The newest `limit` messages after skipping the `skip` newest (or older than " +
    "message `before`), oldest first: the same page rule as the `getChatHistory` event.",
  security: BEARER_SECURITY,
  request: { params: z.object({ userId: UserId }), query: HistoryQuery },
  responses: {
    200: jsonResponse(z.array(ChatMessage), "A page of the conversation, oldest first."),
    ...errorResponses({
      VALIDATION_ERROR: `A blank \`userId\`, a malformed \`before\`, or ${BAD_PAGE}`,
      ...AUTHENTICATED_ERRORS,
    }),
  },
});

const deleteMessage = createRoute({
  method: "delete",
  path: "/{messageId}",
  tags: TAGS,
  summary: "Delete a message I sent",
  description: "Gone everywhere; both users' sockets get `messageDeleted`.",
  security: BEARER_SECURITY,
  request: { params: z.object({ messageId: MessageId }) },
  responses: {
    200: jsonResponse(DeletedMessage, "Deleted."),
    ...errorResponses({
      VALIDATION_ERROR: "A malformed `messageId`.",
      ...AUTHENTICATED_ERRORS,
      FORBIDDEN: "Not the sender of the message; or a browser `Origin` not in `CORS_ORIGINS`.",
      NOT_FOUND: "No such message (or it was deleted already).",
      PAYLOAD_TOO_LARGE: "A request body over the API's limit (this route takes none).",
    }),
  },
});

export function chatsRoutes(chat: ChatService) {
  return openApiRouter<{ Variables: AuthVariables }>()
    .openapi(myChats, async (c) => {
      return c.json(await chat.myChats(c.var.identity.userId, c.req.valid("query")), 200);
    })
    .openapi(conversations, async (c) => {
      return c.json(await chat.conversations(c.var.identity.userId, c.req.valid("query")), 200);
    })
    .openapi(history, async (c) => {
      const { userId: partnerId } = c.req.valid("param");
      const query = c.req.valid("query");
      return c.json(await chat.conversationPage(c.var.identity.userId, partnerId, query), 200);
    })
    .openapi(deleteMessage, async (c) => {
      const { messageId } = c.req.valid("param");
      await chat.deleteMessage(c.var.identity.userId, messageId);
      return c.json({ deleted: true as const, messageId }, 200);
    });
}
