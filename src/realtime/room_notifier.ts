import type { Notifier } from "../chat/notifier.ts";
import type { ChatMessage } from "../protocol/types.ts";
import type { Metrics } from "../metrics/metrics.ts";
import { type ParleyServer, userRoom } from "./io.ts";
import type { MessageDelivery } from "./message_delivery.ts";

/**
 * Implements the domain's Notifier with one Socket.IO room per user. Every
 * domain event passes here once, which makes it the place to count them.
 * In a cluster, rooms span the nodes (the Redis adapter); `receiveMessage` is
 * no room broadcast, so `relay` hands it to the other nodes, which deliver it
 * to their own sockets with acknowledgements.
 */
export function roomNotifier(
  io: ParleyServer,
  delivery: MessageDelivery,
  metrics: Metrics,
  relay?: (receiverId: string, message: ChatMessage) => void,
): Notifier {
  const notifier: Notifier = {
    deliverMessage(receiverId, message) {
      metrics.messagesSent.inc();
      delivery.deliver(receiverId, message);
      relay?.(receiverId, message);
    },
    toUsers(userIds, event, ...args) {
      notifier.toUsersExcept(undefined, userIds, event, ...args);
    },
    toUsersExcept(connectionId, userIds, event, ...args) {
      if (event === "messageRead") metrics.messagesRead.inc();
      if (event === "messageDelivered") metrics.messagesDelivered.inc();
      if (userIds.length === 0) return;
      const rooms = io.to(userIds.map(userRoom));
      // Still a broadcast when the room holds no other socket: the user's other
      // tabs on other nodes, or one recovering its connection, must get it.
      (connectionId === undefined ? rooms : rooms.except(connectionId)).emit(event, ...args);
    },
    toEveryone(event, ...args) {
      io.emit(event, ...args);
    },
  };
  return notifier;
}
