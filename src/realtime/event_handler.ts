/**
 * The one place where a socket event's outcome is turned into what the client
 * sees: the payload arrives as `unknown` and is validated by the event's
 * schema, and the handler's result becomes `ack({ ok: true, ... })`, or
 * `messageError` plus `ack({ ok: false, error, code })` on failure. The server
 * never throws on input.
 *
 * Types come from the event map: an event's schema must produce the payload
 * `ClientToServerEvents` declares, and its handler must return the body of that
 * event's ack (tests/protocol_contract_types_test.ts locks both).
 */
import type { z } from "zod";
import type { RateLimitName } from "../config.ts";
import { AppError, toErrorBody } from "../errors.ts";
import { enforce, type RateLimiter } from "../limits/rate_limiter.ts";
import type { Logger } from "../log.ts";
import type { PayloadOf } from "../protocol/client.ts";
import type { Ack, ClientToServerEvents } from "../protocol/types.ts";
import { errorReport, type Metrics } from "../metrics/metrics.ts";
import { parseInput } from "../schemas/parse.ts";
import type { InFlight } from "./in_flight.ts";
import type { ParleySocket } from "./io.ts";

type ClientEvent = keyof ClientToServerEvents;

/** What `event`'s ack carries besides `ok: true`, as the event map declares it. */
type AnswerOf<E extends ClientEvent> = ClientToServerEvents[E] extends
  (payload: never, ack?: Ack<infer Answer extends object>) => void ? Answer : never;

/**
 * Each event's answer, looked up by name. An interface, not a type alias: through it a
 * handler's returned literals keep their literal types (`duplicate: true`), which TypeScript
 * widens when the expected type is the conditional type itself.
 */
export interface EventAnswers extends Answers {}
type Answers = { [E in ClientEvent]: AnswerOf<E> };

/** What a handler may know of the call besides its payload. */
export interface EventCall {
  /** The client passed an ack callback, so the result reaches it there. */
  acked: boolean;
}

export interface EventContext {
  log: Logger;
  /** Handlers still running at shutdown are allowed to finish and answer. */
  inFlight: InFlight;
  limiter: RateLimiter;
  metrics: Metrics;
}

/** Which of the user's token buckets each event draws from. */
const BUCKETS: Record<ClientEvent, RateLimitName | null> = {
  sendMessage: "send",
  typing: "typing",
  getChatHistory: "history",
  messageRead: "read",
  editMessage: "edit",
  addReaction: "react",
  removeReaction: "react",
  blockUser: "block",
  unblockUser: "block",
  createGroup: "group",
  addGroupMembers: "group",
  removeGroupMember: "group",
  leaveGroup: "group",
  renameGroup: "group",
  markGroupRead: "read",
  setUserId: null, // answered from memory, nothing to protect
};

/** What a socket whose token expired is told, on its next event and when it is disconnected. */
export function tokenExpired(): AppError {
  return new AppError("TOKEN_EXPIRED", "Your token expired; reconnect with a fresh one");
}

/** A token that expired while its socket was open stops working at once. */
export function assertTokenLive(socket: ParleySocket): void {
  const { expiresAt } = socket.data;
  if (expiresAt !== undefined && Date.now() >= expiresAt * 1000) throw tokenExpired();
}

/** Socket.IO passes its ack callback last; nothing else a client sends arrives as a function. */
function isAck<T>(value: unknown): value is Ack<T> {
  return typeof value === "function";
}

/**
 * Handles `event` on `socket`: checks the token and the rate limit, validates
 * the payload with `schema`, runs `handler`, and answers.
 */
export function onEvent<E extends ClientEvent, S extends z.ZodType<PayloadOf<E>>>(
  socket: ParleySocket,
  context: EventContext,
  event: E,
  schema: S,
  handler: (input: z.output<S>, call: EventCall) => EventAnswers[E] | Promise<EventAnswers[E]>,
): void {
  const { log, inFlight, limiter, metrics } = context;
  const bucket = BUCKETS[event];
  const run = async (args: unknown[]) => {
    const last = args.at(-1);
    const ack = isAck<EventAnswers[E]>(last) ? last : undefined;
    const { userId } = socket.data;
    const stop = metrics.eventDuration.startTimer({ event });
    try {
      assertTokenLive(socket);
      if (bucket) await enforce(limiter, bucket, userId);
      const input = parseInput(schema, args[0]);
      const result = await handler(input, { acked: ack !== undefined });
      ack?.({ ok: true, ...result });
      log.debug("event", { event, userId, ms: Math.round(stop() * 1000) });
    } catch (err) {
      const body = toErrorBody(err, errorReport(metrics, log, "event failed", { event, userId }));
      socket.emit("messageError", { ...body, event });
      ack?.({ ok: false, ...body, event });
      log.debug("event refused", { event, userId, code: body.code, ms: Math.round(stop() * 1000) });
    }
  };
  // Any arguments at all: the listener validates them, whatever the event map promises.
  const listener = (...args: unknown[]) => void inFlight.track(run(args));
  const name: ClientEvent = event;
  socket.on(name, listener);
}
