/**
 * Group conversations (issue 19), the domain half: who may create, change,
 * send to, read and hear a group. A group message is stored once and handed
 * to live delivery once for all the other members (one relay in a cluster);
 * what differs per member (read and delivered pointers) is the store's
 * (src/store/group_store.ts).
 *
 * Access: only members see a group, its history, reads and messages; a
 * member who left or was removed keeps none of it. A group that does not
 * exist is NOT_FOUND, one the caller is not a member of FORBIDDEN.
 */
import { AppError } from "../errors.ts";
import type {
  ChatMessage,
  Group,
  GroupChange,
  GroupReadPayload,
  SendMessagePayload,
} from "../protocol/types.ts";
import type { AddGroupMembersInput, CreateGroupInput } from "../schemas/inputs.ts";
import type { GroupRead } from "../store/group_store.ts";
import { type ChatStore, type HistoryQuery, quoteOf } from "../store/repository.ts";
import type { Broadcaster } from "./broadcaster.ts";
import type { LiveDelivery, SendResult } from "./chat_service.ts";
import type { MessageHooks } from "./message_hooks.ts";
import { muteEnd } from "./mute_service.ts";
import { checkedFile, completeSend } from "./send_steps.ts";
import type { SendOrder } from "./send_order.ts";

/** The default `MAX_GROUP_MEMBERS`: members of one group, its creator included. */
export const DEFAULT_MAX_GROUP_MEMBERS = 256;

/** A group's mute as its muter sees it (the body of the group mute routes). */
export interface GroupMuteState {
  groupId: string;
  muted: boolean;
  /** When the mute ends; null when open-ended or not muted. */
  mutedUntil: string | null;
}

/** A send to a group: the payload with its `groupId` known to be there. */
export type GroupSendInput = Omit<SendMessagePayload, "receiverId" | "groupId"> & {
  groupId: string;
};

export class GroupService {
  constructor(
    private readonly store: ChatStore,
    private readonly notify: Broadcaster,
    private readonly delivery: LiveDelivery,
    private readonly hooks: MessageHooks,
    /** Shared with 1:1 sends: one sender's messages keep their order everywhere. */
    private readonly sendOrder: SendOrder,
    private readonly maxMembers: number = DEFAULT_MAX_GROUP_MEMBERS,
  ) {}

  /** The caller creates a group and owns it; every member gets `groupUpdated` (created). */
  async create(callerId: string, input: CreateGroupInput): Promise<Group> {
    const members = new Set([callerId, ...input.memberIds]);
    if (members.size < 2) {
      throw new AppError("VALIDATION_ERROR", "memberIds: a group needs a member besides you");
    }
    this.assertSize(members.size);
    await this.assertUsersExist(input.memberIds);
    const group = await this.store.groups.createGroup({
      name: input.name,
      ownerId: callerId,
      memberIds: input.memberIds,
      createdAt: new Date().toISOString(),
    });
    this.announce(group.memberIds, group, { type: "created", userIds: group.memberIds });
    return group;
  }

  /** The owner adds users; members old and new get `groupUpdated` (membersAdded). */
  async addMembers(callerId: string, { groupId, userIds }: AddGroupMembersInput): Promise<Group> {
    const group = await this.memberGroup(callerId, groupId);
    this.assertOwner(callerId, group, "add members");
    await this.assertUsersExist(userIds);
    const result = await this.store.groups.addMembers(groupId, userIds, new Date().toISOString(), {
      maxMembers: this.maxMembers,
    });
    if (!result.ok) {
      if (result.reason === "not_found") throw groupNotFound();
      throw this.tooMany();
    }
    if (result.added.length > 0) {
      this.announce(result.group.memberIds, result.group, {
        type: "membersAdded",
        userIds: result.added,
      });
    }
    return result.group;
  }

  /** The owner removes a member, who loses all access; they and the members get `groupUpdated`. */
  async removeMember(callerId: string, groupId: string, userId: string): Promise<Group> {
    const group = await this.memberGroup(callerId, groupId);
    this.assertOwner(callerId, group, "remove members");
    if (userId === callerId) {
      throw new AppError("VALIDATION_ERROR", "userId: to leave a group, use leaveGroup");
    }
    if (!group.memberIds.includes(userId)) {
      throw new AppError("NOT_FOUND", "userId: not a member of this group");
    }
    return await this.takeOut(groupId, userId, "memberRemoved");
  }

  /** The caller leaves; an owner hands ownership to the member who joined earliest. */
  async leave(callerId: string, groupId: string): Promise<Group> {
    await this.memberGroup(callerId, groupId);
    return await this.takeOut(groupId, callerId, "left");
  }

  /** Any member renames the group; every member gets `groupUpdated` (renamed). */
  async rename(callerId: string, groupId: string, name: string): Promise<Group> {
    await this.memberGroup(callerId, groupId);
    const group = await this.store.groups.rename(groupId, name, new Date().toISOString());
    if (!group) throw groupNotFound();
    this.announce(group.memberIds, group, { type: "renamed" });
    return group;
  }

  /** The group itself, for its members. */
  get(callerId: string, groupId: string): Promise<Group> {
    return this.memberGroup(callerId, groupId);
  }

  /** One page of the group, oldest first, without what the caller deleted for themselves. */
  async history(
    callerId: string,
    groupId: string,
    query: Omit<HistoryQuery, "viewerId">,
  ): Promise<ChatMessage[]> {
    await this.memberGroup(callerId, groupId);
    return await this.store.groups.history(groupId, { ...query, viewerId: callerId });
  }

  /**
   * Stores the message once, then `receiveMessage` to every other member's
   * sockets (one hand-over for all of them) and `messageSent` to the sender's
   * others, as a 1:1 send does (ChatService.sendMessage).
   */
  async send(callerId: string, input: GroupSendInput, answered?: string): Promise<SendResult> {
    const { group, written } = await this.sendOrder.inOrder(callerId, async () => {
      const group = await this.memberGroup(callerId, input.groupId);
      const replyTo = input.replyTo === undefined
        ? null
        : await this.quoted(input.groupId, input.replyTo);
      const file = await checkedFile(this.hooks, callerId, input.file);
      // The store checks membership again in the write: a member removed meanwhile is FORBIDDEN.
      // Issued in arrival order, not awaited here (send_order.ts).
      const written = this.store.groups.insertMessage({
        groupId: input.groupId,
        senderId: callerId,
        text: input.text ? input.text : null,
        file,
        clientMessageId: input.clientMessageId ?? null,
        replyTo,
      });
      return { group, written };
    });
    return await completeSend(
      { hooks: this.hooks, notify: this.notify },
      callerId,
      answered,
      written,
      (message) =>
        this.delivery.deliverToMany(group.memberIds.filter((id) => id !== callerId), message),
    );
  }

  /**
   * Moves the caller's read pointer forward; a move is told to the members as
   * `groupRead` (except `answered`, the socket that gets it in its ack). A
   * message older than the pointer changes nothing and answers the pointer.
   */
  async markRead(
    callerId: string,
    groupId: string,
    messageId: string,
    answered?: string,
  ): Promise<GroupReadPayload> {
    const group = await this.memberGroup(callerId, groupId);
    const result = await this.store.groups.markRead(
      groupId,
      callerId,
      messageId,
      new Date().toISOString(),
    );
    if (!result.ok) {
      if (result.reason === "not_member") throw notMember();
      throw new AppError("NOT_FOUND", "messageId: not a message of this group");
    }
    const read = { groupId, userId: callerId, messageId: result.messageId, readAt: result.readAt };
    if (result.moved) this.notify.toUsersExcept(answered, group.memberIds, "groupRead", read);
    return read;
  }

  /** Who read the caller's message: every member whose read pointer is at or past it. */
  async reads(callerId: string, groupId: string, messageId: string): Promise<GroupRead[]> {
    await this.memberGroup(callerId, groupId);
    const message = await this.store.messages.get(messageId);
    if (!message || message.groupId !== groupId) {
      throw new AppError("NOT_FOUND", "messageId: not a message of this group");
    }
    if (message.senderId !== callerId) {
      throw new AppError("FORBIDDEN", "Only the sender of a message can see who read it");
    }
    return await this.store.groups.reads(groupId, messageId);
  }

  /** `userTyping` with the group's id to the other members, except users blocked either way. */
  async typing(callerId: string, groupId: string, isTyping: boolean): Promise<void> {
    const group = await this.memberGroup(callerId, groupId);
    const hidden = new Set(await this.store.blocks.blockedEitherWay(callerId));
    const others = group.memberIds.filter((id) => id !== callerId && !hidden.has(id));
    this.notify.toUsers(others, "userTyping", { userId: callerId, groupId, isTyping });
  }

  /** `until` (ISO-8601, in the future) ends the mute; none: until unmuted. */
  async mute(callerId: string, groupId: string, until?: string): Promise<GroupMuteState> {
    await this.memberGroup(callerId, groupId);
    const mutedUntil = muteEnd(until);
    await this.store.groups.mute(groupId, callerId, mutedUntil);
    return { groupId, muted: true, mutedUntil };
  }

  async unmute(callerId: string, groupId: string): Promise<GroupMuteState> {
    await this.memberGroup(callerId, groupId);
    await this.store.groups.unmute(groupId, callerId);
    return { groupId, muted: false, mutedUntil: null };
  }

  /**
   * Who hears of a change to a group message (an edit, a reaction, a delete):
   * its group's members. The caller must be one of them (else FORBIDDEN).
   */
  async audienceOf(
    callerId: string,
    message: ChatMessage & { groupId: string },
  ): Promise<string[]> {
    return (await this.memberGroup(callerId, message.groupId)).memberIds;
  }

  /** The group, if the caller is a member of it. */
  private async memberGroup(callerId: string, groupId: string): Promise<Group> {
    const group = await this.store.groups.get(groupId);
    if (!group) throw groupNotFound();
    if (!group.memberIds.includes(callerId)) throw notMember();
    return group;
  }

  private async takeOut(
    groupId: string,
    userId: string,
    type: "memberRemoved" | "left",
  ): Promise<Group> {
    const result = await this.store.groups.removeMember(groupId, userId, new Date().toISOString());
    if (!result) throw groupNotFound();
    // The one who went hears it too: their clients drop the group.
    if (result.removed) {
      this.announce([...result.group.memberIds, userId], result.group, { type, userIds: [userId] });
    }
    return result.group;
  }

  private announce(userIds: readonly string[], group: Group, change: GroupChange): void {
    this.notify.toUsers(userIds, "groupUpdated", { group, change });
  }

  /** A reply quotes a live message of the same group. */
  private async quoted(groupId: string, messageId: string) {
    const message = await this.store.messages.get(messageId);
    if (!message || message.groupId !== groupId) {
      throw new AppError("VALIDATION_ERROR", "replyTo: not a message of this group");
    }
    return quoteOf(message);
  }

  private assertOwner(callerId: string, group: Group, what: string): void {
    if (group.ownerId !== callerId) {
      throw new AppError("FORBIDDEN", `Only the group's owner can ${what}`);
    }
  }

  private assertSize(members: number): void {
    if (members > this.maxMembers) throw this.tooMany();
  }

  private tooMany(): AppError {
    return new AppError(
      "VALIDATION_ERROR",
      `A group has at most ${this.maxMembers} members, its owner included`,
    );
  }

  /** The host app's users are never created here: only users stored there may join. */
  private async assertUsersExist(userIds: readonly string[]): Promise<void> {
    if (!this.store.users.hostUsers) return;
    const found = await this.store.users.getMany(userIds);
    const missing = userIds.find((id) => !found.has(id));
    if (missing !== undefined) throw new AppError("NOT_FOUND", `User not found: ${missing}`);
  }
}

function groupNotFound(): AppError {
  return new AppError("NOT_FOUND", "Group not found");
}

function notMember(): AppError {
  return new AppError("FORBIDDEN", "You are not a member of this group");
}
