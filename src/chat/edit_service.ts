/** Edits: the sender changes a message's text, within the edit window. */
import { AppError } from "../errors.ts";
import type { ChatMessage } from "../protocol/types.ts";
import type { EditMessageInput } from "../schemas/inputs.ts";
import type { ChatStore } from "../store/repository.ts";
import type { BlockService } from "./block_service.ts";
import type { Broadcaster } from "./broadcaster.ts";
import type { GroupService } from "./group_service.ts";
import type { MessageHooks } from "./message_hooks.ts";

/** The default `EDIT_WINDOW_MS`: a message may be edited for 15 minutes after it was sent. */
export const DEFAULT_EDIT_WINDOW_MS = 900_000;

export class EditService {
  constructor(
    private readonly store: ChatStore,
    private readonly notify: Broadcaster,
    private readonly blocks: BlockService,
    private readonly groups: GroupService,
    private readonly hooks: MessageHooks,
    /** How long after sending a message may be edited; 0: always. */
    private readonly windowMs: number = DEFAULT_EDIT_WINDOW_MS,
  ) {}

  /**
   * Changes the text; both users' sockets (a group's members') get `messageEdited`. Answers the
   * message as stored.
   */
  async edit(callerId: string, { messageId, text }: EditMessageInput): Promise<ChatMessage> {
    const message = await this.store.messages.get(messageId);
    if (!message) throw new AppError("NOT_FOUND", "Message not found");
    if (message.senderId !== callerId) {
      throw new AppError("FORBIDDEN", "Only the sender can edit a message");
    }
    // In a group the sender must still be a member; blocks are between two users.
    const audience = message.groupId
      ? await this.groups.audienceOf(callerId, { ...message, groupId: message.groupId })
      : [message.senderId, message.receiverId!];
    if (!message.groupId) await this.blocks.assertCanMessage(callerId, message.receiverId!);
    const now = Date.now();
    // The store checks the window again in the same write, against a concurrent delete too.
    const result = await this.store.messages.editMessage(
      messageId,
      callerId,
      text,
      new Date(now).toISOString(),
      this.windowMs > 0 ? { createdAfter: new Date(now - this.windowMs).toISOString() } : {},
    );
    if (!result.ok) {
      switch (result.reason) {
        case "not_found":
          throw new AppError("NOT_FOUND", "Message not found");
        case "not_sender":
          throw new AppError("FORBIDDEN", "Only the sender can edit a message");
        case "too_late":
          throw new AppError(
            "FORBIDDEN",
            `The edit window has passed: messages can be edited for ${
              describeWindow(this.windowMs)
            } after they are sent`,
          );
      }
    }
    const edited = result.message;
    await this.hooks.edited?.(edited);
    this.notify.toUsers(audience, "messageEdited", {
      messageId,
      text: edited.text ?? text,
      editedAt: edited.editedAt!,
    });
    return edited;
  }
}

/** 900000 → "15 minutes", 30000 → "30 seconds". */
function describeWindow(ms: number): string {
  const [amount, unit] = ms % 3_600_000 === 0
    ? [ms / 3_600_000, "hour"]
    : ms % 60_000 === 0
    ? [ms / 60_000, "minute"]
    : [Math.round(ms / 1000), "second"];
  return `${amount} ${unit}${amount === 1 ? "" : "s"}`;
}
