import type { Notifier } from "../chat/notifier.ts";
import { type ParleyServer, userRoom } from "./io.ts";
import type { MessageDelivery } from "./message_delivery.ts";

/** Implements the domain's Notifier with one Socket.IO room per user. */
export function roomNotifier(io: ParleyServer, delivery: MessageDelivery): Notifier {
  return {
    deliverMessage(receiverId, message) {
      delivery.deliver(receiverId, message);
    },
    toUsers(userIds, event, ...args) {
      if (userIds.length === 0) return;
      io.to(userIds.map(userRoom)).emit(event, ...args);
    },
    toEveryone(event, ...args) {
      io.emit(event, ...args);
    },
  };
}
