/** A client's side of messaging, as a well-behaved client does it. */
import type { ChatMessage, SendMessagePayload } from "../../src/protocol/types.ts";
import { assert } from "./assert.ts";
import type { ChatClient } from "./server.ts";

/** Records every `receiveMessage` (into `into`, or a new list) and acknowledges it. */
export function acking(client: ChatClient, into: ChatMessage[] = []): ChatMessage[] {
  client.on("receiveMessage", (message, ack) => {
    into.push(message);
    ack();
  });
  return into;
}

/**
 * Sends `text` to `receiverId` (with `more` of the payload, such as a
 * clientMessageId) and resolves with the stored message; throws if refused.
 */
export async function send(
  client: ChatClient,
  receiverId: string,
  text: string,
  more: Omit<SendMessagePayload, "receiverId" | "text"> = {},
): Promise<ChatMessage> {
  const ack = await client.timeout(3000).emitWithAck("sendMessage", { ...more, receiverId, text });
  assert(ack.ok, JSON.stringify(ack));
  return ack.message;
}
