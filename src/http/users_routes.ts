/**
 * `/api/users/*`: blocks, thin over the chat's BlockService (the socket door:
 * `blockUser`, `unblockUser`). The Bearer check is the app's middleware on
 * `/api/users/*`.
 */
import { createRoute, z } from "@hono/zod-openapi";
import type { AuthVariables } from "../auth/http_auth.ts";
import type { ChatService } from "../chat/chat_service.ts";
import { UserId } from "../schemas/inputs.ts";
import { BlockEntry, BlockState } from "../schemas/responses.ts";
import {
  AUTHENTICATED_ERRORS,
  BEARER_SECURITY,
  errorResponses,
  jsonResponse,
  openApiRouter,
} from "./openapi.ts";

const TAGS = ["users"];

const BLOCK_ERRORS = {
  VALIDATION_ERROR: "A malformed `userId`, or the caller's own.",
  ...AUTHENTICATED_ERRORS,
  PAYLOAD_TOO_LARGE: "A request body over the API's limit (this route takes none).",
} as const;

const USER_PARAM = z.object({ userId: UserId });

const listBlocked = createRoute({
  method: "get",
  path: "/blocked",
  tags: TAGS,
  summary: "The users I block, most recently blocked first",
  security: BEARER_SECURITY,
  responses: {
    200: jsonResponse(z.array(BlockEntry), "Every user the caller blocks."),
    ...errorResponses(AUTHENTICATED_ERRORS),
  },
});

const block = createRoute({
  method: "put",
  path: "/{userId}/block",
  tags: TAGS,
  summary: "Block a user",
  description: "Until unblocked, neither can send the other messages or typing (FORBIDDEN, " +
    "nothing stored or relayed), and neither sees the other's presence. History stays " +
    "readable. A repeat changes nothing.",
  security: BEARER_SECURITY,
  request: { params: USER_PARAM },
  responses: {
    200: jsonResponse(BlockState, "Blocked."),
    ...errorResponses(BLOCK_ERRORS),
  },
});

const unblock = createRoute({
  method: "delete",
  path: "/{userId}/block",
  tags: TAGS,
  summary: "Unblock a user",
  description: "Lifts the caller's block (a block by the other user stays).",
  security: BEARER_SECURITY,
  request: { params: USER_PARAM },
  responses: {
    200: jsonResponse(BlockState, "Not blocked by the caller (also when it was not)."),
    ...errorResponses(BLOCK_ERRORS),
  },
});

export function usersRoutes(chat: ChatService) {
  return openApiRouter<{ Variables: AuthVariables }>()
    .openapi(listBlocked, async (c) => {
      return c.json(await chat.blocks.blocked(c.var.identity.userId), 200);
    })
    .openapi(block, async (c) => {
      const { userId } = c.req.valid("param");
      return c.json(await chat.blocks.block(c.var.identity.userId, userId), 200);
    })
    .openapi(unblock, async (c) => {
      const { userId } = c.req.valid("param");
      return c.json(await chat.blocks.unblock(c.var.identity.userId, userId), 200);
    });
}
