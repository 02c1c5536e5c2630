/**
 * Token verification: HS256 with a shared secret, and/or RS256/ES256 against an
 * identity provider's JWKS. The user is one claim of the token, nothing else:
 * `sub` unless `JWT_USER_CLAIM` names another (a host app that signs `userId`).
 * It is a string, or an integer taken as its decimal digits (ids from a SQL
 * sequence), held to the rules of every user id (schemas/inputs.ts); anything
 * else, or no such claim, is UNAUTHORIZED.
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

/**
 * An authentic token whose claims this server refuses (no user id claim, a lifetime too
 * long): its message says which, and a client can act on it, so the socket door passes it
 * on where it hides every other reason.
 */
export class ClaimRefused extends AppError {
  constructor(message: string) {
    super("UNAUTHORIZED", message);
  }
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
        throw new ClaimRefused(
          `Token is valid for longer than this server accepts (${auth.maxTtlSeconds} s)`,
        );
      }
      return toIdentity(payload, auth);
    },
  };
}

/** Seconds from issue (or now, without `iat`) to expiry; endless without `exp`. */
function lifetime(payload: JWTPayload): number {
  if (payload.exp === undefined) return Infinity;
  return payload.exp - (payload.iat ?? Math.floor(Date.now() / 1000));
}

/** The claims that name the user: which holds the id, which are tried for the name. */
export interface IdentityClaims {
  readonly userClaim: string;
  readonly nameClaims: readonly string[];
}

const DEFAULT_CLAIMS: IdentityClaims = { userClaim: "sub", nameClaims: ["username"] };

/** A string as it is; an integer as its decimal digits (JSON numbers beyond 2^53 are not exact). */
function claimText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
  return undefined;
}

function toIdentity(payload: JWTPayload, claims: IdentityClaims): Identity {
  const claim = claims.userClaim;
  if (payload[claim] === undefined) {
    throw new ClaimRefused(`Token has no "${claim}" claim (the user id)`);
  }
  const parsed = UserId.safeParse(claimText(payload[claim]));
  if (!parsed.success) {
    throw new ClaimRefused(
      `Token's "${claim}" claim is not a valid user id (a string or an integer)`,
    );
  }
  const text = (value: unknown) =>
    typeof value === "string" && value.trim() !== "" ? value.trim().slice(0, 254) : undefined;
  return {
    userId: parsed.data,
    username: claims.nameClaims.map((name) => text(payload[name])).find(Boolean),
    email: text(payload.email),
    expiresAt: payload.exp,
  };
}

/** Dev mode's tokens, with the id and name in the claims this server reads them from. */
export function createTokenIssuer(
  secret: Uint8Array,
  claims: IdentityClaims = DEFAULT_CLAIMS,
): TokenIssuer {
  return {
    issue(userId, username) {
      const [nameClaim = "username"] = claims.nameClaims;
      return new SignJWT({ [claims.userClaim]: userId, ...(username && { [nameClaim]: username }) })
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
