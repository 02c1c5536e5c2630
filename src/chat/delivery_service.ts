/**
 * Delivery receipts and offline catch-up, the domain half: what counts as
 * delivered, and who hears about it. The realtime half (which socket got
 * what) is src/realtime/message_delivery.ts.
 */
import type { ChatMessage } from "../protocol/types.ts";
import type { ChatStore } from "../store/repository.ts";
import type { Broadcaster } from "./broadcaster.ts";

export class DeliveryService {
  constructor(private readonly store: ChatStore, private readonly notify: Broadcaster) {}

  /**
   * A device of the receiver acknowledged `receiveMessage`. The first
   * acknowledgement stores `deliveredAt` and tells the sender; later ones change nothing.
   */
  async acknowledged(receiverId: string, messageId: string): Promise<void> {
    const message = await this.store.messages.markDelivered(messageId, new Date().toISOString());
    if (!message || message.receiverId !== receiverId) return;
    this.notify.toUsers([message.senderId], "messageDelivered", {
      messageId,
      receiverId,
      deliveredAt: message.deliveredAt!,
    });
  }

  /** The receiver's undelivered messages, oldest first, one page after `after`. */
  pending(receiverId: string, limit: number, after?: string): Promise<ChatMessage[]> {
    return this.store.messages.undelivered(receiverId, { limit, after });
  }
}
