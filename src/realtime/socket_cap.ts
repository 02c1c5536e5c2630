/**
 * At most `max` sockets per user on this node (`MAX_SOCKETS_PER_USER`): a
 * user's next socket closes their oldest, which is told why first. Each tab
 * and device is a socket; a client that opens one after another without
 * closing them would otherwise hold server memory without bound.
 */
import { AppError, type ErrorReport, toErrorBody } from "../errors.ts";
import type { ParleySocket } from "./io.ts";

export class SocketCap {
  /** Each user's sockets, oldest first. */
  private readonly byUser = new Map<string, ParleySocket[]>();

  constructor(private readonly max: number, private readonly report: ErrorReport) {}

  /** Counts a new socket in; closes the user's oldest if that makes one too many. */
  admit(socket: ParleySocket): void {
    const { userId } = socket.data;
    const sockets = this.byUser.get(userId) ?? [];
    sockets.push(socket);
    this.byUser.set(userId, sockets);
    socket.once("disconnect", () => this.forget(userId, socket));
    while (sockets.length > this.max) {
      const oldest = sockets.shift()!;
      const refusal = new AppError(
        "FORBIDDEN",
        `Too many connections for one user (at most ${this.max}): this one, the oldest, was closed`,
      );
      oldest.emit("messageError", toErrorBody(refusal, this.report));
      oldest.disconnect(true);
    }
  }

  private forget(userId: string, socket: ParleySocket): void {
    const sockets = this.byUser.get(userId);
    if (!sockets) return;
    const at = sockets.indexOf(socket);
    if (at !== -1) sockets.splice(at, 1);
    if (sockets.length === 0) this.byUser.delete(userId);
  }
}
