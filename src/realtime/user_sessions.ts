/** Ends a user's sockets on every node, for the host backend (account banned, signed out). */
import { type ParleyServer, userRoom } from "./io.ts";

export interface UserSessions {
  /** Tells each of the user's sockets why, then disconnects it; answers how many there were. */
  disconnectUser(userId: string, reason: string): Promise<number>;
}

export function userSessions(io: ParleyServer): UserSessions {
  return {
    async disconnectUser(userId, reason) {
      // The room spans the cluster (Redis adapter): the count, the notice and the
      // disconnect reach the user's sockets on every node, in that order.
      const room = io.in(userRoom(userId));
      const sockets = await room.fetchSockets();
      room.emit("messageError", { code: "UNAUTHORIZED", error: reason });
      room.disconnectSockets(true);
      return sockets.length;
    },
  };
}
