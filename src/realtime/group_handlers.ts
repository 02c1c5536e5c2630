/** Group membership and read pointers over sockets (messages go through `sendMessage`). */
import type { ChatService } from "../chat/chat_service.ts";
import {
  AddGroupMembersInput,
  CreateGroupInput,
  LeaveGroupInput,
  MarkGroupReadInput,
  RemoveGroupMemberInput,
  RenameGroupInput,
} from "../schemas/inputs.ts";
import { type EventContext, onEvent } from "./event_handler.ts";
import type { ParleySocket } from "./io.ts";

export function registerGroupHandlers(
  socket: ParleySocket,
  chat: ChatService,
  context: EventContext,
): void {
  const caller = socket.data.userId;
  const groups = chat.groups;

  onEvent(socket, context, "createGroup", CreateGroupInput, async (input) => {
    return { group: await groups.create(caller, input) };
  });

  onEvent(socket, context, "addGroupMembers", AddGroupMembersInput, async (input) => {
    return { group: await groups.addMembers(caller, input) };
  });

  onEvent(socket, context, "removeGroupMember", RemoveGroupMemberInput, async (input) => {
    return { group: await groups.removeMember(caller, input.groupId, input.userId) };
  });

  onEvent(socket, context, "leaveGroup", LeaveGroupInput, async ({ groupId }) => {
    return { group: await groups.leave(caller, groupId) };
  });

  onEvent(socket, context, "renameGroup", RenameGroupInput, async ({ groupId, name }) => {
    return { group: await groups.rename(caller, groupId, name) };
  });

  onEvent(socket, context, "markGroupRead", MarkGroupReadInput, (input, { acked }) => {
    return groups.markRead(caller, input.groupId, input.messageId, acked ? socket.id : undefined);
  });
}
