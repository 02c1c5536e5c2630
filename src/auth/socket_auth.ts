import type { Socket } from "socket.io";
import { AppError } from "../errors.ts";
import type { Identity } from "../protocol/types.ts";
import { bearerToken, ClaimRefused, type TokenVerifier } from "./tokens.ts";

type Handshake = Socket["handshake"];

/** Reads the handshake's token: `auth.token` first, then the Authorization header. */
function handshakeToken(handshake: Handshake): string | undefined {
  const fromAuth: unknown = handshake.auth?.token;
  if (typeof fromAuth === "string" && fromAuth !== "") return fromAuth.replace(/^Bearer\s+/i, "");
  return bearerToken(handshake.headers.authorization);
}

/**
 * Who the handshake's token says the caller is. Throws AppError UNAUTHORIZED
 * otherwise, with one message whatever the reason (the REST door's 401s say
 * more; a socket client only needs to know that it must get a new token), but
 * for an authentic token whose claims are refused: that message names the claim.
 */
export async function authenticateHandshake(
  verifier: TokenVerifier,
  handshake: Handshake,
): Promise<Identity> {
  const token = handshakeToken(handshake);
  try {
    if (!token) throw new Error("missing token");
    return await verifier.verify(token);
  } catch (err) {
    if (err instanceof ClaimRefused) throw err;
    throw new AppError("UNAUTHORIZED", "Missing, invalid or expired token");
  }
}
