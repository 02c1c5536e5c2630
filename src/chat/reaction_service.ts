/** Reactions: either participant adds or takes off emoji on a message. */
import { AppError } from "../errors.ts";
import type { ChatMessage } from "../protocol/types.ts";
import type { ReactionInput } from "../schemas/inputs.ts";
import { type ChatStore, MAX_REACTION_EMOJI } from "../store/repository.ts";
import type { BlockService } from "./block_service.ts";
import type { Broadcaster } from "./broadcaster.ts";
import type { GroupService } from "./group_service.ts";

export class ReactionService {
  constructor(
    private readonly store: ChatStore,
    private readonly notify: Broadcaster,
    private readonly blocks: BlockService,
    private readonly groups: GroupService,
  ) {}

  /** Adds the caller's emoji; a change goes to both users' sockets as `messageReaction`. */
  add(callerId: string, input: ReactionInput): Promise<ChatMessage> {
    return this.change(callerId, input, true);
  }

  /** Takes the caller's emoji off; a repeat changes and sends nothing. */
  remove(callerId: string, input: ReactionInput): Promise<ChatMessage> {
    return this.change(callerId, input, false);
  }

  private async change(
    callerId: string,
    { messageId, emoji }: ReactionInput,
    added: boolean,
  ): Promise<ChatMessage> {
    const message = await this.store.messages.get(messageId);
    if (!message) throw new AppError("NOT_FOUND", "Message not found");
    const audience = message.groupId
      ? await this.groups.audienceOf(callerId, { ...message, groupId: message.groupId })
      : await this.directAudience(callerId, message, added);
    const result = added
      ? await this.store.messages.addReaction(messageId, callerId, emoji)
      : await this.store.messages.removeReaction(messageId, callerId, emoji);
    if (!result.ok) {
      switch (result.reason) {
        case "not_found":
          throw new AppError("NOT_FOUND", "Message not found");
        case "not_participant":
          throw notParticipant();
        case "too_many_emoji":
          throw new AppError(
            "VALIDATION_ERROR",
            `emoji: a message carries at most ${MAX_REACTION_EMOJI} different emoji`,
          );
      }
    }
    if (result.changed) {
      this.notify.toUsers(audience, "messageReaction", {
        messageId,
        userId: callerId,
        emoji,
        added,
      });
    }
    return result.message;
  }

  /** A 1:1 message's two users, the caller one of them. */
  private async directAudience(
    callerId: string,
    message: ChatMessage,
    added: boolean,
  ): Promise<string[]> {
    const receiverId = message.receiverId;
    if (receiverId === null || (message.senderId !== callerId && receiverId !== callerId)) {
      throw notParticipant();
    }
    const partner = message.senderId === callerId ? receiverId : message.senderId;
    // Taking a reaction off is always allowed: it sends nothing new to a blocked user.
    if (added) await this.blocks.assertCanMessage(callerId, partner);
    return [message.senderId, receiverId];
  }
}

function notParticipant(): AppError {
  return new AppError("FORBIDDEN", "You can only react to messages of your own conversations");
}
