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
   * A group message moves the member's delivered pointer instead (catch-up
   * offers nothing up to it again); its sender is not told.
   */
  async acknowledged(
    receiverId: string,
    messageId: string,
    groupId?: string | null,
  ): Promise<void> {
    if (groupId) {
      await this.store.groups.acknowledge(groupId, receiverId, messageId);
      return;
    }
    const receipt = await this.store.messages.markDelivered(messageId, new Date().toISOString());
    if (!receipt || receipt.receiverId !== receiverId) return;
    this.notify.toUsers([receipt.senderId], "messageDelivered", {
      messageId,
      receiverId,
      deliveredAt: receipt.deliveredAt,
    });
  }

  /**
   * The receiver's undelivered messages, 1:1 and group ones, oldest first, one
   * page after `after`: the first `limit` of each kind, merged by id (ids sort
   * by arrival), are the first `limit` of both.
   */
  async pending(receiverId: string, limit: number, after?: string): Promise<ChatMessage[]> {
    const [direct, grouped] = await Promise.all([
      this.store.messages.undelivered(receiverId, { limit, after }),
      this.store.groups.undelivered(receiverId, { limit, after }),
    ]);
    if (grouped.length === 0) return direct;
    return [...direct, ...grouped].sort((x, y) => (x._id < y._id ? -1 : x._id > y._id ? 1 : 0))
      .slice(0, limit);
  }
}
