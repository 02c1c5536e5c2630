/**
 * The domain's outbound port: "tell these users this event". The realtime
 * layer implements it with Socket.IO rooms (one room per user, every tab and
 * device of the user joins it), so the domain never touches Socket.IO.
 */
import type { ServerToClientEvents } from "../protocol/types.ts";

export interface Notifier {
  toUsers<E extends keyof ServerToClientEvents>(
    userIds: readonly string[],
    event: E,
    ...args: Parameters<ServerToClientEvents[E]>
  ): void;
  toEveryone<E extends keyof ServerToClientEvents>(
    event: E,
    ...args: Parameters<ServerToClientEvents[E]>
  ): void;
}
