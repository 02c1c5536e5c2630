import type { Notifier } from "../chat/notifier.ts";
import { type ParleyServer, userRoom } from "./io.ts";

/** Implements the domain's Notifier with one Socket.IO room per user. */
export function roomNotifier(io: ParleyServer): Notifier {
  return {
    toUsers(userIds, event, ...args) {
      if (userIds.length === 0) return;
      io.to(userIds.map(userRoom)).emit(event, ...args);
    },
    toEveryone(event, ...args) {
      io.emit(event, ...args);
    },
  };
}
