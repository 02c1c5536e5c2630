/** A client's side of groups, as a well-behaved client does it. */
import type { ChatMessage, Group } from "../../src/protocol/types.ts";
import { assert } from "./assert.ts";
import type { ChatClient } from "./server.ts";

/** Creates a group of `memberIds` (the client's user added as owner); throws if refused. */
export async function createGroup(
  client: ChatClient,
  name: string,
  memberIds: string[],
): Promise<Group> {
  const ack = await client.timeout(3000).emitWithAck("createGroup", { name, memberIds });
  assert(ack.ok, JSON.stringify(ack));
  return ack.group;
}

/** Sends `text` to the group and resolves with the stored message; throws if refused. */
export async function sendToGroup(
  client: ChatClient,
  groupId: string,
  text: string,
  extra: { clientMessageId?: string; replyTo?: string } = {},
): Promise<ChatMessage> {
  const ack = await client.timeout(3000).emitWithAck("sendMessage", { groupId, text, ...extra });
  assert(ack.ok, JSON.stringify(ack));
  return ack.message;
}
