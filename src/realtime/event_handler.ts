/**
 * The one place where a socket event's outcome is turned into what the client
 * sees: the payload arrives as `unknown`, the handler validates it, and the
 * result becomes `ack({ ok: true, ... })`, or `messageError` plus
 * `ack({ ok: false, error, code })` on failure. The server never throws on input.
 */
import { toErrorBody } from "../errors.ts";
import { errorFields, type Logger } from "../log.ts";
import type { ClientToServerEvents } from "../protocol/types.ts";
import type { InFlight } from "./in_flight.ts";
import type { ParleySocket } from "./io.ts";

type Handler = (payload: unknown) => Promise<object> | object;

export interface EventContext {
  log: Logger;
  /** Handlers still running at shutdown are allowed to finish and answer. */
  inFlight: InFlight;
}

export function onEvent(
  socket: ParleySocket,
  event: keyof ClientToServerEvents,
  context: EventContext,
  handler: Handler,
): void {
  const { log, inFlight } = context;
  const run = async (args: unknown[]) => {
    const last = args.at(-1);
    const ack = typeof last === "function" ? (last as (result: object) => void) : undefined;
    try {
      const result = await handler(args[0]);
      ack?.({ ok: true, ...result });
    } catch (err) {
      const body = toErrorBody(
        err,
        (e) => log.error("event failed", { event, userId: socket.data.userId, ...errorFields(e) }),
      );
      socket.emit("messageError", { ...body, event });
      ack?.({ ok: false, ...body, event });
    }
  };
  const listener = (...args: unknown[]) => void inFlight.track(run(args));
  socket.on(event, listener as ClientToServerEvents[typeof event]);
}
