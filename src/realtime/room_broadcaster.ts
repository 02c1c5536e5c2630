import type { Broadcaster } from "../chat/broadcaster.ts";
import type { Metrics } from "../metrics/metrics.ts";
import { type ParleyServer, userRoom } from "./io.ts";

/**
 * Implements the domain's Broadcaster with one Socket.IO room per user. Every
 * receipt passes here once, which makes it the place to count them. In a
 * cluster, rooms span the nodes (the Redis adapter).
 */
export function roomBroadcaster(io: ParleyServer, metrics: Metrics): Broadcaster {
  const broadcaster: Broadcaster = {
    toUsers(userIds, event, ...args) {
      broadcaster.toUsersExcept(undefined, userIds, event, ...args);
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
    toEveryoneExcept(userIds, event, ...args) {
      io.except(userIds.map(userRoom)).emit(event, ...args);
    },
  };
  return broadcaster;
}
