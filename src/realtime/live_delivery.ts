import type { LiveDelivery } from "../chat/chat_service.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { ChatMessage } from "../protocol/types.ts";
import type { MessageDelivery } from "./message_delivery.ts";

/**
 * Implements the domain's LiveDelivery: the receiver's sockets on this node,
 * each asked to acknowledge (message_delivery.ts), and in a cluster the other
 * nodes, through `relay`, which deliver to theirs: `receiveMessage` is no room
 * broadcast. Every new message passes here once, which makes it the place to
 * count them.
 */
export function liveDelivery(
  local: MessageDelivery,
  metrics: Metrics,
  relay?: (receiverIds: readonly string[], message: ChatMessage) => void,
): LiveDelivery {
  return {
    deliver(receiverId, message) {
      metrics.messagesSent.inc();
      local.deliver(receiverId, message);
      relay?.([receiverId], message);
    },
    // A group message: one count and one relay for all its members, not one per member.
    deliverToMany(receiverIds, message) {
      metrics.messagesSent.inc();
      for (const receiverId of receiverIds) local.deliver(receiverId, message);
      if (receiverIds.length > 0) relay?.(receiverIds, message);
    },
  };
}
