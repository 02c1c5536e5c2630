/** `/api/chats/*`: the brief's REST routes, thin over ChatService. */
import { Hono } from "hono";
import type { AuthVariables } from "../auth/http_auth.ts";
import type { ChatService } from "../chat/chat_service.ts";
import { HistoryQuery, MessageId, PageQuery, UserId } from "../schemas/inputs.ts";
import { parseInput } from "../schemas/parse.ts";

export function chatsRoutes(chat: ChatService) {
  return new Hono<{ Variables: AuthVariables }>()
    .get("/my-chats", async (c) => {
      const page = parseInput(PageQuery, c.req.query());
      return c.json(await chat.myChats(c.var.identity.userId, page));
    })
    .get("/conversations", async (c) => {
      const page = parseInput(PageQuery, c.req.query());
      return c.json(await chat.conversations(c.var.identity.userId, page));
    })
    .get("/history/:userId", async (c) => {
      const partnerId = parseInput(UserId, c.req.param("userId"));
      const query = parseInput(HistoryQuery, c.req.query());
      return c.json(await chat.conversationPage(c.var.identity.userId, partnerId, query));
    })
    .delete("/:messageId", async (c) => {
      const messageId = parseInput(MessageId, c.req.param("messageId"));
      await chat.deleteMessage(c.var.identity.userId, messageId);
      return c.json({ deleted: true, messageId });
    });
}
