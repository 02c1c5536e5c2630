/** The environment, parsed once by zod into a typed, frozen Config. */
import { z } from "zod";
import { hostName, type HostPolicy, isLoopbackHost } from "./auth/hosts.ts";

const optionalText = z.string().trim().min(1).optional().catch(undefined);

const SECONDS_PER_UNIT = { s: 1, m: 60, h: 3600, d: 86_400 } as const;

/** `"<n>"` seconds or `"<n>s|m|h|d"`, e.g. `24h`; parsed into seconds. */
const Duration = z.string().regex(/^\d+[smhd]?$/, 'must be seconds or "<n>s|m|h|d", e.g. 24h')
  .transform((text) => {
    const unit = /[smhd]$/.test(text) ? text.at(-1) as keyof typeof SECONDS_PER_UNIT : "s";
    return Number.parseInt(text, 10) * SECONDS_PER_UNIT[unit];
  })
  .refine((seconds) => seconds > 0, "must be more than 0");

/** `"<per second>:<burst>"`, e.g. `10:20`: a token bucket refilled at 10/s holding 20. */
const Bucket = z.string().regex(/^\d+(\.\d+)?:\d+$/, 'must be "<per second>:<burst>", e.g. 10:20')
  .transform((text) => {
    const [perSecond, burst] = text.split(":").map(Number) as [number, number];
    return { perSecond, burst };
  })
  .refine((b) => b.perSecond > 0 && b.burst >= 1, "rate and burst must be positive");

/** Message encryption keys: `id:base64key,...`, each key 32 bytes; the first encrypts. */
const EncryptionKeys = z.string().transform((text, ctx) => {
  const keys = text.split(",").map((pair) => pair.trim()).filter(Boolean).map((pair) => {
    const [id, key] = pair.split(":");
    let bytes: Uint8Array | undefined;
    try {
      bytes = Uint8Array.from(atob(key ?? ""), (c) => c.charCodeAt(0));
    } catch { /* reported below */ }
    if (!id || !/^[A-Za-z0-9_-]{1,32}$/.test(id) || bytes?.length !== 32) {
      ctx.addIssue({ code: "custom", message: `each entry must be "<id>:<base64 of 32 bytes>"` });
    }
    return { id: id ?? "", key: bytes ?? new Uint8Array() };
  });
  if (new Set(keys.map((k) => k.id)).size !== keys.length) {
    ctx.addIssue({ code: "custom", message: "key ids must be unique" });
  }
  return keys;
});

const EnvSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().trim().min(1).default("127.0.0.1"),
  JWT_SECRET: z.string().min(32, "must be at least 32 characters (HS256 key)").optional(),
  JWT_JWKS_URL: z.url({ protocol: /^https?$/ }).optional(),
  JWT_ISSUER: optionalText,
  JWT_AUDIENCE: optionalText,
  MONGODB_URI: z.string().regex(
    /^mongodb(\+srv)?:\/\//,
    "must start with mongodb:// or mongodb+srv://",
  )
    .optional(),
  MONGODB_DB: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, "must be a plain database name")
    .default("parley"),
  SQLITE_PATH: z.string().min(1).default("./data/parley.db"),
  // Deno KV is gone (SQLite replaced it): a leftover setting is named in a warning, nothing else.
  KV_PATH: z.string().optional(),
  // A cluster of nodes (README, "Running a cluster"): Socket.IO's Redis Streams adapter, presence, rate limits.
  REDIS_URL: z.string().regex(/^rediss?:\/\//, "must start with redis:// or rediss://").optional(),
  CLUSTER_NODE_TTL_MS: z.coerce.number().int().min(300).max(300_000).default(15_000),
  CORS_ORIGINS: z.string().default(""),
  ALLOWED_HOSTS: z.string().default("").transform((text) =>
    text.split(",").map((host) => host.trim().toLowerCase()).filter(Boolean)
  ).refine(
    (hosts) => hosts.every((host) => /^[a-z0-9.-]+$|^\[[0-9a-f:.]+\]$/.test(host)),
    "must be host names or addresses without ports, comma-separated",
  ),
  PRESENCE_BROADCAST: z.enum(["partners", "all"]).default("partners"),
  PRESENCE_GRACE_MS: z.coerce.number().int().min(0).max(1500).default(1000),
  DELIVERY_ACK_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  MAX_UNACKED_PER_SOCKET: z.coerce.number().int().min(1).max(100_000).default(100),
  RECOVERY_WINDOW_MS: z.coerce.number().int().min(0).max(3_600_000).default(120_000),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
  JWT_JWKS_COOLDOWN_MS: z.coerce.number().int().min(0).max(3_600_000).default(30_000),
  JWT_REQUIRE_EXP: z.enum(["true", "false"]).default("true"),
  JWT_MAX_TTL: Duration.optional(),
  RATE_LIMITS: z.enum(["on", "off"]).default("on"),
  RATE_LIMIT_SEND: Bucket.default({ perSecond: 10, burst: 20 }),
  RATE_LIMIT_TYPING: Bucket.default({ perSecond: 5, burst: 10 }),
  RATE_LIMIT_HISTORY: Bucket.default({ perSecond: 5, burst: 20 }),
  RATE_LIMIT_READ: Bucket.default({ perSecond: 50, burst: 100 }),
  RATE_LIMIT_REST: Bucket.default({ perSecond: 10, burst: 40 }),
  RATE_LIMIT_ANON_REST: Bucket.default({ perSecond: 5, burst: 20 }),
  RATE_LIMIT_CONNECT: Bucket.default({ perSecond: 20, burst: 60 }),
  RATE_LIMIT_HANDSHAKE: Bucket.default({ perSecond: 40, burst: 120 }),
  MAX_PENDING_SESSIONS: z.coerce.number().int().min(1).max(1_000_000).default(10_000),
  MAX_SOCKETS_PER_USER: z.coerce.number().int().min(1).max(10_000).default(20),
  MAX_SOCKET_PAYLOAD_BYTES: z.coerce.number().int().min(1024).max(16_777_216).default(65_536),
  MAX_BODY_BYTES: z.coerce.number().int().min(1024).max(16_777_216).default(65_536),
  TRUST_PROXY: z.enum(["true", "false"]).default("false"),
  MESSAGE_ENCRYPTION_KEYS: EncryptionKeys.optional(),
  // Attachments and push notifications (docs/attachments-and-notifications.md).
  PUBLIC_URL: z.url({ protocol: /^https?$/ }).transform((url) => new URL(url).origin).optional(),
  UPLOAD_DIR: z.string().min(1).default("./data/uploads"),
  UPLOAD_MAX_BYTES: z.coerce.number().int().min(1).max(2 ** 31).default(10 * 1024 * 1024),
  UPLOAD_QUOTA_BYTES: z.coerce.number().int().min(1).max(2 ** 50).default(1024 ** 3),
  UPLOAD_RETENTION_MS: z.coerce.number().int().min(100).max(30 * 86_400_000).default(86_400_000),
  PUSH_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
  PUSH_WEBHOOK_SECRET: z.string().min(32, "must be at least 32 characters").optional(),
  PUSH_INCLUDE_TEXT: z.enum(["true", "false"]).default("false"),
  PUSH_MAX_ATTEMPTS: z.coerce.number().int().min(1).max(20).default(6),
  PUSH_RETRY_BASE_MS: z.coerce.number().int().min(1).max(600_000).default(1000),
  PUSH_ALLOW_INSECURE_ENDPOINTS: z.enum(["true", "false"]).default("false"),
  PUSH_ENDPOINT_HOSTS: z.string().default(
    "fcm.googleapis.com,updates.push.services.mozilla.com,*.push.apple.com,*.notify.windows.com",
  ).transform((text) => text.split(",").map((host) => host.trim().toLowerCase()).filter(Boolean))
    .refine(
      (hosts) => hosts.every((host) => /^(\*\.)?[a-z0-9.:\[\]-]+$/.test(host)),
      'must be host names, each maybe starting with "*." (e.g. *.push.apple.com)',
    ),
  VAPID_PUBLIC_KEY: z.string().regex(/^[A-Za-z0-9_-]{87}$/, "must be a base64url P-256 public key")
    .optional(),
  VAPID_PRIVATE_KEY: z.string().regex(/^[A-Za-z0-9_-]{43}$/, "must be a base64url P-256 key")
    .optional(),
  VAPID_SUBJECT: z.string().regex(/^(mailto:|https:\/\/)\S+$/, "must be a mailto: or https: URL")
    .optional(),
});

export type RateBucket = { readonly perSecond: number; readonly burst: number };

/** Every rate-limited action; the user's (or, for anonymous ones, the IP's) own bucket. */
export type RateLimitName =
  | "send"
  | "typing"
  | "history"
  | "read"
  | "rest"
  | "anonRest"
  | "connect"
  | "handshake";

export interface Config {
  readonly port: number;
  readonly host: string;
  readonly auth: {
    /** No secret and no JWKS: tokens are minted by `POST /api/dev/token`. */
    readonly devMode: boolean;
    readonly secret?: string;
    readonly jwksUrl?: string;
    readonly issuer?: string;
    readonly audience?: string;
    /** Least time between two JWKS downloads (an unknown `kid` triggers one). */
    readonly jwksCooldownMs: number;
    /** Refuse tokens without `exp` (`JWT_REQUIRE_EXP`, default true). */
    readonly requireExp: boolean;
    /** Refuse tokens valid for longer than this many seconds after they were issued. */
    readonly maxTtlSeconds?: number;
  };
  readonly store:
    | { readonly kind: "mongo"; readonly uri: string; readonly db: string }
    | { readonly kind: "sqlite"; readonly path: string };
  /** Set with `REDIS_URL`: this process is one node of a cluster. */
  readonly cluster?: ClusterConfig;
  /** `"*"` only when set explicitly; an empty list allows same-origin pages only. */
  readonly corsOrigins: "*" | readonly string[];
  /** Which `Host` headers are served (auth/hosts.ts). */
  readonly hosts: HostPolicy;
  readonly presence: { readonly broadcast: "partners" | "all"; readonly graceMs: number };
  readonly delivery: {
    readonly ackTimeoutMs: number;
    readonly recoveryWindowMs: number;
    /** `receiveMessage`s sent to one socket and not yet acknowledged, at most. */
    readonly maxUnackedPerSocket: number;
  };
  readonly logLevel: z.infer<typeof EnvSchema>["LOG_LEVEL"];
  /** null: limits off (`RATE_LIMITS=off`). */
  readonly rateLimits: Readonly<Record<RateLimitName, RateBucket>> | null;
  readonly limits: {
    readonly socketPayloadBytes: number;
    readonly bodyBytes: number;
    /** Sockets one user may hold on one node; the next closes the oldest. */
    readonly socketsPerUser: number;
    /** Engine.IO sessions that may wait unauthenticated at once; one more closes the oldest. */
    readonly pendingSessions: number;
  };
  /** Take client addresses from `X-Forwarded-For` (only behind a proxy you run). */
  readonly trustProxy: boolean;
  /** The first key encrypts; all of them decrypt. Empty: stored in clear. */
  readonly encryptionKeys: readonly { readonly id: string; readonly key: Uint8Array }[];
  /** Origin clients reach Parley at (`PUBLIC_URL`), for upload links; unset: the request's. */
  readonly publicUrl?: string;
  readonly uploads: UploadConfig;
  readonly push: PushConfig;
  /** Settings that are accepted but do nothing, each with what to do instead (logged at start). */
  readonly warnings: readonly string[];
}

export interface ClusterConfig {
  readonly redisUrl: string;
  /**
   * A node that has not renewed its heartbeat for this long counts as dead; its users go
   * offline within about 4/3 of it (heartbeats and sweeps run every third of it).
   */
  readonly nodeTtlMs: number;
}

export interface UploadConfig {
  /** Local directory for upload bytes with SQLite (MongoDB keeps them in GridFS). */
  readonly dir: string;
  readonly maxBytes: number;
  /** Most bytes one user's stored uploads (sent or not) may take together. */
  readonly quotaBytes: number;
  /** An upload never sent in a message is removed after this long. */
  readonly retentionMs: number;
}

export interface PushConfig {
  readonly webhook?: { readonly url: string; readonly secret: string };
  readonly webPush?: {
    readonly publicKey: string;
    readonly privateKey: string;
    readonly subject: string;
  };
  /** Put the message text into Web Push notifications. */
  readonly includeText: boolean;
  readonly maxAttempts: number;
  readonly retryBaseMs: number;
  /** Accept `http:` push endpoints (local push-service emulators and tests only). */
  readonly allowInsecureEndpoints: boolean;
  /** Hosts Web Push endpoints may name (`PUSH_ENDPOINT_HOSTS`); `*.` matches any subdomain. */
  readonly endpointHosts: readonly string[];
}

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses the environment; throws ConfigError naming each bad variable and its value. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ""),
  );
  const parsed = EnvSchema.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      const given = /SECRET|KEY/.test(name) ? "(hidden)" : JSON.stringify(cleaned[name]);
      return `  ${name}: ${issue.message} (given: ${given})`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const e = parsed.data;
  const devMode = !e.JWT_SECRET && !e.JWT_JWKS_URL;
  if (devMode && !isLoopbackHost(e.HOST)) {
    throw new ConfigError(
      `Invalid configuration:\n  HOST: dev mode (no JWT_SECRET or JWT_JWKS_URL) lets anyone mint ` +
        `tokens, so it only listens on a loopback address (given: ${JSON.stringify(e.HOST)}). ` +
        `Set JWT_SECRET or JWT_JWKS_URL to listen on other addresses.`,
    );
  }
  if (e.REDIS_URL && !e.MONGODB_URI) {
    throw new ConfigError(
      `Invalid configuration:\n  REDIS_URL: a cluster needs the shared MongoDB store: set ` +
        `MONGODB_URI too (one SQLite file serves one process).`,
    );
  }
  const pushProblems = [
    e.PUSH_WEBHOOK_URL && !e.PUSH_WEBHOOK_SECRET &&
    "PUSH_WEBHOOK_SECRET: required with PUSH_WEBHOOK_URL (webhooks are always signed)",
    [e.VAPID_PUBLIC_KEY, e.VAPID_PRIVATE_KEY, e.VAPID_SUBJECT].filter(Boolean).length % 3 !== 0 &&
    "VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY, VAPID_SUBJECT: Web Push needs all three, or none",
  ].filter(Boolean);
  if (pushProblems.length > 0) {
    throw new ConfigError(`Invalid configuration:\n  ${pushProblems.join("\n  ")}`);
  }
  const origins = e.CORS_ORIGINS.split(",").map((o) => o.trim()).filter(Boolean);
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    auth: Object.freeze({
      devMode,
      secret: e.JWT_SECRET,
      jwksUrl: e.JWT_JWKS_URL,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      jwksCooldownMs: e.JWT_JWKS_COOLDOWN_MS,
      requireExp: e.JWT_REQUIRE_EXP === "true",
      maxTtlSeconds: e.JWT_MAX_TTL,
    }),
    store: e.MONGODB_URI
      ? { kind: "mongo", uri: e.MONGODB_URI, db: e.MONGODB_DB } as const
      : { kind: "sqlite", path: e.SQLITE_PATH } as const,
    cluster: e.REDIS_URL
      ? Object.freeze({ redisUrl: e.REDIS_URL, nodeTtlMs: e.CLUSTER_NODE_TTL_MS })
      : undefined,
    corsOrigins: origins.includes("*") ? "*" : Object.freeze(origins),
    hosts: Object.freeze({
      loopbackOnly: devMode,
      names: e.ALLOWED_HOSTS.length === 0 ? "any" as const : Object.freeze(e.ALLOWED_HOSTS),
      publicHost: e.PUBLIC_URL ? hostName(new URL(e.PUBLIC_URL).host) : undefined,
    }),
    presence: Object.freeze({ broadcast: e.PRESENCE_BROADCAST, graceMs: e.PRESENCE_GRACE_MS }),
    delivery: Object.freeze({
      ackTimeoutMs: e.DELIVERY_ACK_TIMEOUT_MS,
      recoveryWindowMs: e.RECOVERY_WINDOW_MS,
      maxUnackedPerSocket: e.MAX_UNACKED_PER_SOCKET,
    }),
    logLevel: e.LOG_LEVEL,
    rateLimits: e.RATE_LIMITS === "off" ? null : Object.freeze({
      send: e.RATE_LIMIT_SEND,
      typing: e.RATE_LIMIT_TYPING,
      history: e.RATE_LIMIT_HISTORY,
      read: e.RATE_LIMIT_READ,
      rest: e.RATE_LIMIT_REST,
      anonRest: e.RATE_LIMIT_ANON_REST,
      connect: e.RATE_LIMIT_CONNECT,
      handshake: e.RATE_LIMIT_HANDSHAKE,
    }),
    limits: Object.freeze({
      socketPayloadBytes: e.MAX_SOCKET_PAYLOAD_BYTES,
      bodyBytes: e.MAX_BODY_BYTES,
      socketsPerUser: e.MAX_SOCKETS_PER_USER,
      pendingSessions: e.MAX_PENDING_SESSIONS,
    }),
    trustProxy: e.TRUST_PROXY === "true",
    encryptionKeys: Object.freeze(e.MESSAGE_ENCRYPTION_KEYS ?? []),
    publicUrl: e.PUBLIC_URL,
    uploads: Object.freeze({
      dir: e.UPLOAD_DIR,
      maxBytes: e.UPLOAD_MAX_BYTES,
      quotaBytes: e.UPLOAD_QUOTA_BYTES,
      retentionMs: e.UPLOAD_RETENTION_MS,
    }),
    push: Object.freeze({
      webhook: e.PUSH_WEBHOOK_URL && e.PUSH_WEBHOOK_SECRET
        ? Object.freeze({ url: e.PUSH_WEBHOOK_URL, secret: e.PUSH_WEBHOOK_SECRET })
        : undefined,
      webPush: e.VAPID_PUBLIC_KEY && e.VAPID_PRIVATE_KEY && e.VAPID_SUBJECT
        ? Object.freeze({
          publicKey: e.VAPID_PUBLIC_KEY,
          privateKey: e.VAPID_PRIVATE_KEY,
          subject: e.VAPID_SUBJECT,
        })
        : undefined,
      includeText: e.PUSH_INCLUDE_TEXT === "true",
      maxAttempts: e.PUSH_MAX_ATTEMPTS,
      retryBaseMs: e.PUSH_RETRY_BASE_MS,
      allowInsecureEndpoints: e.PUSH_ALLOW_INSECURE_ENDPOINTS === "true",
      endpointHosts: Object.freeze(e.PUSH_ENDPOINT_HOSTS),
    }),
    warnings: Object.freeze(
      e.KV_PATH === undefined ? [] : [
        `KV_PATH is ignored: Deno KV was replaced by SQLite. The embedded store is ` +
        `SQLITE_PATH (now ${JSON.stringify(e.SQLITE_PATH)}); nothing is read from ` +
        `${JSON.stringify(e.KV_PATH)}.`,
      ],
    ),
  });
}
