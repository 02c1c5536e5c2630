/**
 * The domain's outbound port: "tell these users this event". The realtime
 * layer implements it with Socket.IO rooms (one room per user, every tab and
 * device of the user joins it), so the domain never touches Socket.IO.
 */
import type { ChatMessage, ServerToClientEvents } from "../protocol/types.ts";

/** Events sent as plain broadcasts; `receiveMessage` goes through `deliverMessage`. */
export type BroadcastEvent = Exclude<keyof ServerToClientEvents, "receiveMessage">;

export interface Notifier {
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
  /** Sends a new message to every connected device of the receiver, asking each to acknowledge. */
  deliverMessage(receiverId: string, message: ChatMessage): void;
}
