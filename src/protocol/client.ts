/**
 * A typed request/acknowledgement helper for TypeScript clients.
 *
 * The acks in `ClientToServerEvents` are optional (a client of the brief may
 * emit without one), and socket.io-client cannot infer `emitWithAck`'s result
 * through an optional callback. `request()` can:
 *
 * ```ts
 * const result = await request(socket, "sendMessage", { receiverId: "bob", text: "hi" });
 * if (result.ok) console.log(result.message._id); else console.error(result.code);
 * ```
 */
import type { Socket } from "socket.io-client";
import type { ClientToServerEvents, ServerToClientEvents } from "./types.ts";

export type ParleyClient = Socket<ServerToClientEvents, ClientToServerEvents>;

type Event = keyof ClientToServerEvents;
export type PayloadOf<E extends Event> = Parameters<ClientToServerEvents[E]>[0];
export type AckResultOf<E extends Event> = Parameters<
  NonNullable<Parameters<ClientToServerEvents[E]>[1]>
>[0];

/** Emits `event` and resolves with the server's acknowledgement; rejects after `timeoutMs`. */
export function request<E extends Event>(
  socket: ParleyClient,
  event: E,
  payload: PayloadOf<E>,
  timeoutMs = 10_000,
): Promise<AckResultOf<E>> {
  const untyped = socket.timeout(timeoutMs) as unknown as {
    emitWithAck(event: string, payload: unknown): Promise<AckResultOf<E>>;
  };
  return untyped.emitWithAck(event, payload);
}
