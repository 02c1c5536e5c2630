/**
 * The domain's outbound port for events: "tell these users this". The realtime
 * layer implements it with Socket.IO rooms (one room per user, every tab and
 * device of the user joins it), so the domain never touches Socket.IO. A new
 * message is not broadcast: it goes through `LiveDelivery` (chat_service.ts),
 * which asks each device to acknowledge it.
 */
import type { ServerToClientEvents } from "../protocol/types.ts";

/** Events sent as plain broadcasts; `receiveMessage` goes through `LiveDelivery`. */
export type BroadcastEvent = Exclude<keyof ServerToClientEvents, "receiveMessage">;

export interface Broadcaster {
  toUsers<E extends BroadcastEvent>(
    userIds: readonly string[],
    event: E,
    ...args: Parameters<ServerToClientEvents[E]>
  ): void;
  /**
   * As `toUsers`, except one connection (a socket id): the one that asked with an
   * ack callback already has the payload in its answer.
   */
  toUsersExcept<E extends BroadcastEvent>(
    connectionId: string | undefined,
    userIds: readonly string[],
    event: E,
    ...args: Parameters<ServerToClientEvents[E]>
  ): void;
  toEveryone<E extends BroadcastEvent>(
    event: E,
    ...args: Parameters<ServerToClientEvents[E]>
  ): void;
  /** As `toEveryone`, except these users' sockets (presence skips users blocked either way). */
  toEveryoneExcept<E extends BroadcastEvent>(
    userIds: readonly string[],
    event: E,
    ...args: Parameters<ServerToClientEvents[E]>
  ): void;
}
