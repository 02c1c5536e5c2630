/**
 * Token verification: HS256 with a shared secret, and/or RS256/ES256 against an
 * identity provider's JWKS. The user is the token's `sub`, nothing else, held
 * to the rules of every user id (schemas/inputs.ts): a `sub` that breaks them,
 * or is not a string, is UNAUTHORIZED.
 */
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  type JWTPayload,
  jwtVerify,
  type JWTVerifyOptions,
  SignJWT,
} from "jose";
import { AppError } from "../errors.ts";
import type { Config } from "../config.ts";
import type { Identity } from "../protocol/types.ts";
import { UserId } from "../schemas/inputs.ts";

export interface TokenVerifier {
  /** Resolves the caller's identity; throws AppError UNAUTHORIZED otherwise. */
  verify(token: string): Promise<Identity>;
}

export interface TokenIssuer {
  issue(userId: string, username?: string): Promise<string>;
}

const ASYMMETRIC = ["RS256", "ES256"];
const DEV_TOKEN_LIFETIME = "24h";

/** The per-process key of dev mode: tokens die with the process. */
export function randomSecret(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(32));
}

export function createTokenVerifier(
  auth: Config["auth"],
  secret: Uint8Array | undefined,
): TokenVerifier {
  // Keys are cached; a token with an unknown `kid` (key rotation) triggers a
  // fresh download, at most once per cooldown.
  const jwks = auth.jwksUrl
    ? createRemoteJWKSet(new URL(auth.jwksUrl), { cooldownDuration: auth.jwksCooldownMs })
    : undefined;
  const options: JWTVerifyOptions = {
    issuer: auth.issuer,
    audience: auth.audience,
    requiredClaims: auth.requireExp ? ["exp"] : [],
  };
  return {
    async verify(token) {
      let payload: JWTPayload;
      try {
        const { alg } = decodeProtectedHeader(token);
        if (alg === "HS256" && secret) {
          ({ payload } = await jwtVerify(token, secret, { ...options, algorithms: ["HS256"] }));
        } else if (alg && ASYMMETRIC.includes(alg) && jwks) {
          ({ payload } = await jwtVerify(token, jwks, { ...options, algorithms: ASYMMETRIC }));
        } else {
          throw new Error(`unsupported alg ${alg}`);
        }
      } catch {
        throw new AppError("UNAUTHORIZED", "Invalid or expired token");
      }
      if (auth.maxTtlSeconds !== undefined && lifetime(payload) > auth.maxTtlSeconds) {
        throw new AppError(
          "UNAUTHORIZED",
          `Token is valid for longer than this server accepts (${auth.maxTtlSeconds} s)`,
        );
      }
      return toIdentity(payload);
    },
  };
}

/** Seconds from issue (or now, without `iat`) to expiry; endless without `exp`. */
function lifetime(payload: JWTPayload): number {
  if (payload.exp === undefined) return Infinity;
  return payload.exp - (payload.iat ?? Math.floor(Date.now() / 1000));
}

function toIdentity(payload: JWTPayload): Identity {
  const parsed = UserId.safeParse(payload.sub);
  if (!parsed.success) throw new AppError("UNAUTHORIZED", "Token has no valid sub");
  const sub = parsed.data;
  const text = (value: unknown) =>
    typeof value === "string" && value.trim() !== "" ? value.trim().slice(0, 254) : undefined;
  return {
    userId: sub,
    username: text(payload.username) ?? text(payload.preferred_username) ?? text(payload.name),
    email: text(payload.email),
    expiresAt: payload.exp,
  };
}

export function createTokenIssuer(secret: Uint8Array): TokenIssuer {
  return {
    issue(userId, username) {
      return new SignJWT(username ? { username } : {})
        .setProtectedHeader({ alg: "HS256" })
        .setSubject(userId)
        .setIssuedAt()
        .setExpirationTime(DEV_TOKEN_LIFETIME)
        .sign(secret);
    },
  };
}

/** The `token` of `Authorization: Bearer <token>`, if that is what the header holds. */
export function bearerToken(header: string | null | undefined): string | undefined {
  const match = header?.match(/^Bearer\s+(\S+)\s*$/i);
  return match?.[1];
}
