/**
 * `/api/groups/*`: a group, its history, who read a message, and the caller's
 * mute of it, thin over GroupService (src/chat/group_service.ts). Membership
 * changes and sends are socket events (README, Groups). The Bearer check is
 * the app's middleware on `/api/groups/*`.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { AuthVariables } from "../auth/http_auth.ts";
import type { ChatService } from "../chat/chat_service.ts";
import { GroupId, HistoryQuery, MessageId, MuteInput } from "../schemas/inputs.ts";
import { ChatMessage, Group, GroupMuteState, GroupReads } from "../schemas/responses.ts";
import {
  AUTHENTICATED_ERRORS,
  BEARER_SECURITY,
  errorResponses,
  jsonResponse,
  openApiRouter,
} from "./openapi.ts";

const TAGS = ["groups"];
const GROUP_PARAM = z.object({ groupId: GroupId });
const NOT_MEMBER = "The caller is not a member of the group (a member who left or was " +
  "removed has no access); or a browser `Origin` not in `CORS_ORIGINS`.";

const getGroup = createRoute({
  method: "get",
  path: "/{groupId}",
  tags: TAGS,
  summary: "A group of mine",
  security: BEARER_SECURITY,
  request: { params: GROUP_PARAM },
  responses: {
    200: jsonResponse(Group, "The group: name, owner and members in join order."),
    ...errorResponses({
      VALIDATION_ERROR: "A malformed `groupId`.",
      ...AUTHENTICATED_ERRORS,
      FORBIDDEN: NOT_MEMBER,
      NOT_FOUND: "No such group.",
    }),
  },
});

const history = createRoute({
  method: "get",
  path: "/{groupId}/history",
  tags: TAGS,
  summary: "A group's messages",
  description: "The newest `limit` messages after skipping the `skip` newest (or older than " +
    "message `before`), oldest first, without those the caller deleted for themselves: the " +
    "page rule of `GET /api/chats/history/{userId}` and of `getChatHistory({groupId})`.",
  security: BEARER_SECURITY,
  request: { params: GROUP_PARAM, query: HistoryQuery },
  responses: {
    200: jsonResponse(z.array(ChatMessage), "A page of the group, oldest first."),
    ...errorResponses({
      VALIDATION_ERROR: "A malformed `groupId` or `before`, `limit` outside 1–200, or `skip` " +
        "outside 0–10000.",
      ...AUTHENTICATED_ERRORS,
      FORBIDDEN: NOT_MEMBER,
      NOT_FOUND: "No such group.",
    }),
  },
});

const reads = createRoute({
  method: "get",
  path: "/{groupId}/messages/{messageId}/reads",
  tags: TAGS,
  summary: "Who read a message I sent to a group",
  description: "Every member (the sender left out) whose read pointer (`markGroupRead`) is " +
    "at or past the message, in join order, with when their pointer last moved.",
  security: BEARER_SECURITY,
  request: { params: GROUP_PARAM.extend({ messageId: MessageId }) },
  responses: {
    200: jsonResponse(GroupReads, "Who read it."),
    ...errorResponses({
      VALIDATION_ERROR: "A malformed `groupId` or `messageId`.",
      ...AUTHENTICATED_ERRORS,
      FORBIDDEN: "Not a member of the group, or not the message's sender; or a browser " +
        "`Origin` not in `CORS_ORIGINS`.",
      NOT_FOUND: "No such group, or no such message in it.",
    }),
  },
});

const MUTE_ERRORS = {
  VALIDATION_ERROR: "A malformed `groupId`, or an `until` that is not an ISO-8601 time in the " +
    "future.",
  ...AUTHENTICATED_ERRORS,
  FORBIDDEN: NOT_MEMBER,
  NOT_FOUND: "No such group.",
  PAYLOAD_TOO_LARGE: "A body over the API's limit.",
} as const;

const mute = createRoute({
  method: "put",
  path: "/{groupId}/mute",
  tags: TAGS,
  summary: "Mute a group's notifications",
  description: "No push notification (webhook or Web Push) reaches me for this group's " +
    "messages until `until`, or until unmuted when it is left out (the body may be left out " +
    "too). Sockets still get everything. Replaces an earlier mute.",
  security: BEARER_SECURITY,
  request: {
    params: GROUP_PARAM,
    body: { required: false, content: { "application/json": { schema: MuteInput } } },
  },
  responses: {
    200: jsonResponse(GroupMuteState, "Muted."),
    ...errorResponses(MUTE_ERRORS),
  },
});

const unmute = createRoute({
  method: "delete",
  path: "/{groupId}/mute",
  tags: TAGS,
  summary: "Unmute a group",
  security: BEARER_SECURITY,
  request: { params: GROUP_PARAM },
  responses: {
    200: jsonResponse(GroupMuteState, "Not muted (also when it was not)."),
    ...errorResponses(MUTE_ERRORS),
  },
});

export function groupsRoutes(chat: ChatService) {
  const groups = chat.groups;
  return openApiRouter<{ Variables: AuthVariables }>()
    .openapi(getGroup, async (c) => {
      const { groupId } = c.req.valid("param");
      return c.json(await groups.get(c.var.identity.userId, groupId), 200);
    })
    .openapi(history, async (c) => {
      const { groupId } = c.req.valid("param");
      return c.json(
        await groups.history(c.var.identity.userId, groupId, c.req.valid("query")),
        200,
      );
    })
    .openapi(reads, async (c) => {
      const { groupId, messageId } = c.req.valid("param");
      return c.json({ reads: await groups.reads(c.var.identity.userId, groupId, messageId) }, 200);
    })
    .openapi(mute, async (c) => {
      const { groupId } = c.req.valid("param");
      const { until } = c.req.valid("json") ?? {};
      return c.json(await groups.mute(c.var.identity.userId, groupId, until), 200);
    })
    .openapi(unmute, async (c) => {
      const { groupId } = c.req.valid("param");
      return c.json(await groups.unmute(c.var.identity.userId, groupId), 200);
    });
}
