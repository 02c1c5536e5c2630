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

/**
 * A socket.io-client socket typed with Parley's event maps: `emit` and `on`
 * take only Parley's event names, each with its payload.
 *
 * Left out of `deno doc` (`@ignore`) only because its linter takes
 * socket.io-client's `Socket` for a private type of this module
 * (denoland/deno#27364), and re-exporting `Socket` drags in its internals.
 *
 * @ignore
 */
export type ParleyClient = Socket<ServerToClientEvents, ClientToServerEvents>;

/** The name of an event a client may emit (`sendMessage`, `typing`, …). */
export type ClientEvent = keyof ClientToServerEvents;

/** The payload a client emits with event `E`, e.g. `PayloadOf<"typing">` is `TypingPayload`. */
export type PayloadOf<E extends ClientEvent> = Parameters<ClientToServerEvents[E]>[0];

/**
 * What the server acknowledges event `E` with: `{ ok: true, … }` with the
 * event's answer, or `{ ok: false, code, error }`.
 */
export type AckResultOf<E extends ClientEvent> = Parameters<
  NonNullable<Parameters<ClientToServerEvents[E]>[1]>
>[0];

/** Emits `event` and resolves with the server's acknowledgement; rejects after `timeoutMs`. */
export function request<E extends ClientEvent>(
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
