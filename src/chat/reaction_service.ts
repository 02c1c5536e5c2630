/** Reactions: either participant adds or takes off emoji on a message. */
import { AppError } from "../errors.ts";
import type { ChatMessage } from "../protocol/types.ts";
import type { ReactionInput } from "../schemas/inputs.ts";
import { type ChatStore, MAX_REACTION_EMOJI } from "../store/repository.ts";
import type { BlockService } from "./block_service.ts";
import type { Broadcaster } from "./broadcaster.ts";

export class ReactionService {
  constructor(
    private readonly store: ChatStore,
    private readonly notify: Broadcaster,
    private readonly blocks: BlockService,
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
    if (message.senderId !== callerId && message.receiverId !== callerId) {
      throw notParticipant();
    }
    const partner = message.senderId === callerId ? message.receiverId : message.senderId;
    // Taking a reaction off is always allowed: it sends nothing new to a blocked user.
    if (added) await this.blocks.assertCanMessage(callerId, partner);
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
      this.notify.toUsers([message.senderId, message.receiverId], "messageReaction", {
        messageId,
        userId: callerId,
        emoji,
        added,
      });
    }
    return result.message;
  }
}

function notParticipant(): AppError {
  return new AppError("FORBIDDEN", "You can only react to messages of your own conversations");
}
