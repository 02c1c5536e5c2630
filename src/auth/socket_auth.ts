import type { Socket } from "socket.io";
import type { Identity } from "../protocol/types.ts";
import { bearerToken, type TokenVerifier } from "./tokens.ts";

/** The message of the `connect_error` a client sees when its token is refused. */
export const UNAUTHORIZED_MESSAGE = "unauthorized";

/** Reads the handshake's token: `auth.token` first, then the Authorization header. */
function handshakeToken(socket: Socket): string | undefined {
  const fromAuth: unknown = socket.handshake.auth?.token;
  if (typeof fromAuth === "string" && fromAuth !== "") return fromAuth.replace(/^Bearer\s+/i, "");
  return bearerToken(socket.handshake.headers.authorization);
}

/** Socket.IO middleware: refuses the connection unless the token verifies. */
export function socketAuth(
  verifier: TokenVerifier,
  onIdentity: (socket: Socket, identity: Identity) => void,
) {
  return async function socketAuth(socket: Socket, next: (err?: Error) => void) {
    const token = handshakeToken(socket);
    try {
      if (!token) throw new Error("missing token");
      onIdentity(socket, await verifier.verify(token));
      next();
    } catch {
      const err = new Error(UNAUTHORIZED_MESSAGE) as Error & { data?: unknown };
      err.data = { code: "UNAUTHORIZED", error: "Missing, invalid or expired token" };
      next(err);
    }
  };
}
