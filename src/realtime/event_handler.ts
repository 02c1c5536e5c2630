/**
 * The one place where a socket event's outcome is turned into what the client
 * sees: the payload arrives as `unknown`, the handler validates it, and the
 * result becomes `ack({ ok: true, ... })`, or `messageError` plus
 * `ack({ ok: false, error, code })` on failure. The server never throws on input.
 */
import type { RateLimitName } from "../config.ts";
import { AppError, toErrorBody } from "../errors.ts";
import { enforce, type RateLimiter } from "../limits/rate_limiter.ts";
import { errorFields, type Logger } from "../log.ts";
import type { ClientToServerEvents } from "../protocol/types.ts";
import type { Metrics } from "../metrics/metrics.ts";
import type { InFlight } from "./in_flight.ts";
import type { ParleySocket } from "./io.ts";

/** What a handler may know of the call besides its payload. */
export interface EventCall {
  /** The client passed an ack callback, so the result reaches it there. */
  acked: boolean;
}

type Handler = (payload: unknown, call: EventCall) => Promise<object> | object;

export interface EventContext {
  log: Logger;
  /** Handlers still running at shutdown are allowed to finish and answer. */
  inFlight: InFlight;
  limiter: RateLimiter;
  metrics: Metrics;
}

/** Which of the user's token buckets each event draws from. */
const BUCKETS: Record<keyof ClientToServerEvents, RateLimitName | null> = {
  sendMessage: "send",
  typing: "typing",
  getChatHistory: "history",
  messageRead: "read",
  setUserId: null, // answered from memory, nothing to protect
};

/** A token that expired while its socket was open stops working at once. */
export function assertTokenLive(socket: ParleySocket): void {
  const { expiresAt } = socket.data;
  if (expiresAt !== undefined && Date.now() >= expiresAt * 1000) {
    throw new AppError("TOKEN_EXPIRED", "Your token expired; reconnect with a fresh one");
  }
}

export function onEvent(
  socket: ParleySocket,
  event: keyof ClientToServerEvents,
  context: EventContext,
  handler: Handler,
): void {
  const { log, inFlight, limiter, metrics } = context;
  const bucket = BUCKETS[event];
  const run = async (args: unknown[]) => {
    const last = args.at(-1);
    const ack = typeof last === "function" ? (last as (result: object) => void) : undefined;
    const stop = metrics.eventDuration.startTimer({ event });
    try {
      assertTokenLive(socket);
      if (bucket) await enforce(limiter, bucket, socket.data.userId);
      const result = await handler(args[0], { acked: ack !== undefined });
      ack?.({ ok: true, ...result });
      log.debug("event", { event, userId: socket.data.userId, ms: Math.round(stop() * 1000) });
    } catch (err) {
      const body = toErrorBody(
        err,
        (e) => log.error("event failed", { event, userId: socket.data.userId, ...errorFields(e) }),
      );
      socket.emit("messageError", { ...body, event });
      ack?.({ ok: false, ...body, event });
      metrics.errors.inc({ code: body.code });
      log.debug("event refused", {
        event,
        userId: socket.data.userId,
        code: body.code,
        ms: Math.round(stop() * 1000),
      });
    }
  };
  const listener = (...args: unknown[]) => void inFlight.track(run(args));
  socket.on(event, listener as ClientToServerEvents[typeof event]);
}
