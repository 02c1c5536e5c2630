/**
 * `/api/chats/*`: the brief's REST routes, thin over ChatService. Each route's
 * zod schemas validate its request and generate its part of /openapi.json.
 * The Bearer check is the app's middleware on `/api/chats/*`.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { AuthVariables } from "../auth/http_auth.ts";
import type { ChatService } from "../chat/chat_service.ts";
import {
  DeleteQuery,
  EditText,
  Emoji,
  HistoryQuery,
  MessageId,
  MuteInput,
  PageQuery,
  ReportInput,
  SearchQuery,
  UserId,
} from "../schemas/inputs.ts";
import {
  ChatMessage,
  ConversationRow,
  DeletedMessage,
  GroupConversationRow,
  MuteState,
  Report,
} from "../schemas/responses.ts";
import {
  AUTHENTICATED_ERRORS,
  BEARER_SECURITY,
  errorResponses,
  jsonResponse,
  openApiRouter,
  requireJsonBody,
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
  summary: "One row per conversation partner and per group, most recent first",
  description: "A 1:1 row has `user`, a group row `group`; both have `lastMessage`, " +
    "`unreadCount`, `muted` and `mutedUntil`.",
  security: BEARER_SECURITY,
  request: { query: PageQuery },
  responses: {
    200: jsonResponse(
      z.array(z.union([ConversationRow, GroupConversationRow])),
      "A page of conversations, most recent first.",
    ),
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
  summary: "Delete a message: for everyone (I sent it) or for me",
  description: "For everyone (the default): only its sender may; gone everywhere, and both " +
    "users' sockets get `messageDeleted`. `?for=me`: either participant; it leaves only the " +
    "caller's history, lists, search and unread count, and only the caller's sockets get " +
    "`messageDeleted`.",
  security: BEARER_SECURITY,
  request: { params: z.object({ messageId: MessageId }), query: DeleteQuery },
  responses: {
    200: jsonResponse(DeletedMessage, "Deleted."),
    ...errorResponses({
      VALIDATION_ERROR: "A malformed `messageId`, or `for` other than `everyone` or `me`.",
      ...AUTHENTICATED_ERRORS,
      FORBIDDEN: "For everyone: not the sender; for me: not a participant. Or a browser " +
        "`Origin` not in `CORS_ORIGINS`.",
      NOT_FOUND: "No such message (or it was deleted already).",
      PAYLOAD_TOO_LARGE: "A request body over the API's limit (this route takes none).",
    }),
  },
});

const MESSAGE_PARAM = z.object({ messageId: MessageId });

const editMessage = createRoute({
  method: "patch",
  path: "/{messageId}",
  tags: TAGS,
  summary: "Edit a message I sent",
  description: "Within `EDIT_WINDOW_MS` of sending it (0: always). The message gains " +
    "`editedAt`; both users' sockets get `messageEdited` (as the `editMessage` event).",
  security: BEARER_SECURITY,
  middleware: [requireJsonBody] as const,
  request: {
    params: MESSAGE_PARAM,
    body: {
      required: true,
      content: { "application/json": { schema: z.object({ text: EditText }) } },
    },
  },
  responses: {
    200: jsonResponse(ChatMessage, "The message as stored."),
    ...errorResponses({
      VALIDATION_ERROR: "A malformed `messageId`, or `text` empty or over 5000 characters.",
      ...AUTHENTICATED_ERRORS,
      FORBIDDEN: "Not the sender; the edit window has passed; a block stands between the two; " +
        "or a browser `Origin` not in `CORS_ORIGINS`.",
      NOT_FOUND: "No such message (or it was deleted).",
      PAYLOAD_TOO_LARGE: "A body over the API's limit.",
    }),
  },
});

const REACTION_ERRORS = {
  VALIDATION_ERROR: "A malformed `messageId`, `emoji` not one emoji (or over 16 bytes of " +
    "UTF-8), or a 21st different emoji on the message.",
  ...AUTHENTICATED_ERRORS,
  FORBIDDEN: "Not a participant of the message's conversation; adding while a block stands " +
    "between the two; or a browser `Origin` not in `CORS_ORIGINS`.",
  NOT_FOUND: "No such message (or it was deleted).",
  PAYLOAD_TOO_LARGE: "A request body over the API's limit (this route takes none).",
} as const;

const reactionParams = z.object({
  messageId: MessageId,
  emoji: Emoji.meta({
    description: "One emoji, percent-encoded in the path.",
    examples: ["👍", "❤️", "🇫🇷"],
  }),
});

const addReaction = createRoute({
  method: "put",
  path: "/{messageId}/reactions/{emoji}",
  tags: TAGS,
  summary: "React to a message with an emoji",
  description: "As the `addReaction` event: both users' sockets get `messageReaction`; a " +
    "repeat changes and sends nothing.",
  security: BEARER_SECURITY,
  request: { params: reactionParams },
  responses: {
    200: jsonResponse(ChatMessage, "The message as stored."),
    ...errorResponses(REACTION_ERRORS),
  },
});

const removeReaction = createRoute({
  method: "delete",
  path: "/{messageId}/reactions/{emoji}",
  tags: TAGS,
  summary: "Take my emoji off a message",
  description: "As the `removeReaction` event.",
  security: BEARER_SECURITY,
  request: { params: reactionParams },
  responses: {
    200: jsonResponse(ChatMessage, "The message as stored."),
    ...errorResponses(REACTION_ERRORS),
  },
});

const search = createRoute({
  method: "get",
  path: "/search",
  tags: TAGS,
  summary: "Search my messages",
  description: "Messages I sent or received (and did not delete for me) holding every word " +
    "of `q`, case-insensitively, newest first; `with`: only the conversation with that " +
    "user; `before`: only messages older than that one (page back with the oldest you have).",
  security: BEARER_SECURITY,
  request: { query: SearchQuery },
  responses: {
    200: jsonResponse(z.array(ChatMessage), "Matching messages, newest first."),
    ...errorResponses({
      VALIDATION_ERROR: "`q` empty or over 200 characters, `limit` outside 1–100, or a " +
        "malformed `with` or `before`.",
      ...AUTHENTICATED_ERRORS,
      SEARCH_UNAVAILABLE: "Messages are encrypted at rest (`MESSAGE_ENCRYPTION_KEYS`): the " +
        "store cannot read them.",
    }),
  },
});

const report = createRoute({
  method: "post",
  path: "/{messageId}/report",
  tags: TAGS,
  summary: "Report a message I received",
  description: "Stored with the message's content as it is now, and forwarded to the host " +
    "app as the events webhook's `message.reported`. One report per user and message.",
  security: BEARER_SECURITY,
  middleware: [requireJsonBody] as const,
  request: {
    params: MESSAGE_PARAM,
    body: { required: true, content: { "application/json": { schema: ReportInput } } },
  },
  responses: {
    201: jsonResponse(Report, "Reported."),
    200: jsonResponse(Report, "Reported before: the first report."),
    ...errorResponses({
      VALIDATION_ERROR: "A malformed `messageId`, a `reason` not in the list, or a `note` " +
        "over 1000 characters.",
      ...AUTHENTICATED_ERRORS,
      FORBIDDEN: "Not the receiver of the message; or a browser `Origin` not in `CORS_ORIGINS`.",
      NOT_FOUND: "No such message (or it was deleted).",
      PAYLOAD_TOO_LARGE: "A body over the API's limit.",
    }),
  },
});

const MUTE_ERRORS = {
  VALIDATION_ERROR: "A malformed `userId` (or the caller's own), or an `until` that is not an " +
    "ISO-8601 time in the future.",
  ...AUTHENTICATED_ERRORS,
  PAYLOAD_TOO_LARGE: "A body over the API's limit.",
} as const;

const mute = createRoute({
  method: "put",
  path: "/conversations/{userId}/mute",
  tags: TAGS,
  summary: "Mute a conversation's notifications",
  description: "No push notification (webhook or Web Push) reaches me for messages from this " +
    "user until `until`, or until unmuted when it is left out (the body may be left out too). " +
    "Sockets still get everything. Replaces an earlier mute.",
  security: BEARER_SECURITY,
  request: {
    params: z.object({ userId: UserId }),
    body: { required: false, content: { "application/json": { schema: MuteInput } } },
  },
  responses: {
    200: jsonResponse(MuteState, "Muted."),
    ...errorResponses(MUTE_ERRORS),
  },
});

const unmute = createRoute({
  method: "delete",
  path: "/conversations/{userId}/mute",
  tags: TAGS,
  summary: "Unmute a conversation",
  security: BEARER_SECURITY,
  request: { params: z.object({ userId: UserId }) },
  responses: {
    200: jsonResponse(MuteState, "Not muted (also when it was not)."),
    ...errorResponses(MUTE_ERRORS),
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
      const callerId = c.var.identity.userId;
      const query = { ...c.req.valid("query"), viewerId: callerId };
      return c.json(await chat.conversationPage(callerId, partnerId, query), 200);
    })
    .openapi(search, async (c) => {
      return c.json(await chat.search(c.var.identity.userId, c.req.valid("query")), 200);
    })
    .openapi(mute, async (c) => {
      const { userId: partnerId } = c.req.valid("param");
      const { until } = c.req.valid("json") ?? {};
      return c.json(await chat.mutes.mute(c.var.identity.userId, partnerId, until), 200);
    })
    .openapi(unmute, async (c) => {
      const { userId: partnerId } = c.req.valid("param");
      return c.json(await chat.mutes.unmute(c.var.identity.userId, partnerId), 200);
    })
    .openapi(deleteMessage, async (c) => {
      const { messageId } = c.req.valid("param");
      const callerId = c.var.identity.userId;
      if (c.req.valid("query").for === "me") await chat.deleteForMe(callerId, messageId);
      else await chat.deleteMessage(callerId, messageId);
      return c.json({ deleted: true as const, messageId }, 200);
    })
    .openapi(editMessage, async (c) => {
      const { messageId } = c.req.valid("param");
      const { text } = c.req.valid("json");
      return c.json(await chat.edits.edit(c.var.identity.userId, { messageId, text }), 200);
    })
    .openapi(addReaction, async (c) => {
      return c.json(await chat.reactions.add(c.var.identity.userId, c.req.valid("param")), 200);
    })
    .openapi(removeReaction, async (c) => {
      return c.json(await chat.reactions.remove(c.var.identity.userId, c.req.valid("param")), 200);
    })
    .openapi(report, async (c) => {
      const { messageId } = c.req.valid("param");
      const outcome = await chat.reports.report(
        c.var.identity.userId,
        messageId,
        c.req.valid("json"),
      );
      return outcome.created ? c.json(outcome.report, 201) : c.json(outcome.report, 200);
    });
}
