/**
 * How a refused connection learns why: Socket.IO's `connect_error`, whose
 * `message` is the code in words (`unauthorized`, `rate limited`: what clients
 * match on) and whose `data` is the `{ error, code }` body of every other refusal.
 */
import type { ExtendedError } from "socket.io";
import { type ErrorReport, toErrorBody } from "../errors.ts";
import type { ParleySocket } from "./io.ts";

/** The error handed to a middleware's `next()`: refuses the connection, counted. */
export function connectError(err: unknown, report: ErrorReport): ExtendedError {
  const body = toErrorBody(err, report);
  const refusal: ExtendedError = new Error(body.code.toLowerCase().replaceAll("_", " "));
  refusal.data = body;
  return refusal;
}

/** A connection middleware from a check that throws (an AppError) to refuse the socket. */
export function admitIf(
  report: ErrorReport,
  check: (socket: ParleySocket) => Promise<void>,
): (socket: ParleySocket, next: (err?: ExtendedError) => void) => void {
  return function admission(socket, next) {
    check(socket).then(() => next(), (err) => next(connectError(err, report)));
  };
}
