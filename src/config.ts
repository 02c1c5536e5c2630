/**
 * The environment, parsed once by zod into a typed, frozen Config. Each
 * variable is declared once, in `ENV` below, with its default and a
 * description; the README's configuration tables list the same variables with
 * the same defaults (tests/config_test.ts compares them). `Config` is the type
 * of what `toConfig()` builds from the parsed variables, so it cannot drift.
 */
import { z } from "zod";
import { hostName, type HostPolicy, isLoopbackHost } from "./hosts.ts";

/** Set but blank (after trimming) counts as unset. */
const OptionalText = z.string().trim().min(1).optional().catch(undefined);

/** `true` or `false`, as booleans. */
const Flag = z.enum(["true", "false"]).transform((text) => text === "true");

function int(min: number, max: number) {
  return z.coerce.number().int().min(min).max(max);
}

function httpUrl() {
  return z.url({ protocol: /^https?$/ });
}

/** Comma-separated, trimmed, lowercase, blanks dropped. */
function lowercaseList() {
  return z.string().transform((text) =>
    text.split(",").map((item) => item.trim().toLowerCase()).filter(Boolean)
  );
}

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
    return Object.freeze({ perSecond, burst });
  })
  .refine((b) => b.perSecond > 0 && b.burst >= 1, "rate and burst must be positive");

/** A top-level claim of a token, as named in it (`userId`, `https://example.com/uid`). */
const ClaimName = z.string().trim().regex(
  /^[\x21-\x2B\x2D-\x7E]{1,256}$/,
  "must be a claim name (printable ASCII, no blanks or commas)",
);

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
    return Object.freeze({ id: id ?? "", key: bytes ?? new Uint8Array() });
  });
  if (new Set(keys.map((k) => k.id)).size !== keys.length) {
    ctx.addIssue({ code: "custom", message: "key ids must be unique" });
  }
  return keys;
});

/**
 * Browser origins, comma-separated; `*` allows every origin. Each entry is
 * compared with the `Origin` header as it is, so an entry no browser ever sends
 * (`localhost:5173`, `https://app.example/`, `https://App.example`) would
 * silently refuse the page it was meant for: it is refused here instead.
 */
const OriginList = z.string().transform((text, ctx) => {
  const entries = text.split(",").map((entry) => entry.trim()).filter(Boolean);
  for (const entry of entries) {
    const problem = originProblem(entry);
    if (problem) ctx.addIssue({ code: "custom", message: problem });
  }
  return entries.includes("*") ? "*" as const : Object.freeze(entries);
});

/** Why `entry` is not an origin as browsers send it, or undefined when it is one. */
function originProblem(entry: string): string | undefined {
  if (entry === "*") return undefined;
  const notAnOrigin = `${JSON.stringify(entry)} is not an origin (scheme://host[:port], ` +
    `nothing after it, e.g. https://app.example)`;
  let url: URL;
  try {
    url = new URL(entry);
  } catch {
    return notAnOrigin;
  }
  if (url.protocol === "http:" || url.protocol === "https:") {
    return url.origin === entry ? undefined : `${notAnOrigin}; did you mean ${url.origin}?`;
  }
  // Apps in web views send their own schemes (capacitor://localhost, chrome-extension://<id>).
  return /^[a-z][a-z0-9+.-]*:\/\/[a-z0-9.-]+(:\d+)?$/.test(entry) ? undefined : notAnOrigin;
}

/** Every variable Parley reads: its parser, its default (when it has one) and what it means. */
const ENV = z.object({
  PORT: int(0, 65535).default(3000).meta({
    description: "HTTP + Socket.IO port (0 picks a free one).",
  }),
  HOST: z.string().trim().min(1).default("127.0.0.1").meta({
    description: "Listen address; a non-loopback one needs JWT_SECRET or JWT_JWKS_URL.",
  }),
  JWT_SECRET: z.string().min(32, "must be at least 32 characters (HS256 key)").optional().meta({
    description: "HS256 shared secret (at least 32 characters); turns dev mode off.",
  }),
  SERVICE_API_KEYS: z.string().optional().transform((text = "") =>
    text.split(",").map((key) => key.trim()).filter(Boolean)
  ).refine(
    (keys) => keys.every((key) => key.length >= 32 && !/\s/.test(key)),
    "must be keys of at least 32 characters, comma-separated",
  ).meta({
    description:
      "Keys of the service API (`/api/service/*`, the host backend's door); none: it answers 404.",
  }),
  JWT_JWKS_URL: httpUrl().optional().meta({
    description: "JWKS of an identity provider, for RS256/ES256 tokens; turns dev mode off.",
  }),
  JWT_ISSUER: OptionalText.meta({ description: "When set, every token's `iss` must match." }),
  JWT_AUDIENCE: OptionalText.meta({ description: "When set, every token's `aud` must match." }),
  JWT_REQUIRE_EXP: Flag.prefault("true").meta({
    description: "Refuse tokens without `exp`; false accepts them (they never expire).",
  }),
  JWT_MAX_TTL: Duration.optional().meta({
    description: "Refuse tokens valid for longer than this after `iat` (seconds, or 30m, 24h, 7d).",
  }),
  JWT_JWKS_COOLDOWN_MS: int(0, 3_600_000).default(30_000).meta({
    description: "Least time between two JWKS downloads (an unknown `kid` triggers one).",
  }),
  JWT_USER_CLAIM: ClaimName.default("sub").meta({
    description: "The token claim holding the user id (a string, or an integer taken as its " +
      "decimal digits), e.g. `userId` for tokens signed as the brief's app does.",
  }),
  JWT_NAME_CLAIM: z.string().transform((text) =>
    text.split(",").map((name) => name.trim()).filter(Boolean)
  ).pipe(z.array(ClaimName).min(1, "must name at least one claim")).prefault(
    "username,preferred_username,name",
  ).meta({
    description: "Claims tried in order for the user's display name (comma-separated).",
  }),
  MONGODB_URI: z.string().regex(
    /^mongodb(\+srv)?:\/\//,
    "must start with mongodb:// or mongodb+srv://",
  )
    .optional().meta({ description: "When set, MongoDB is the store." }),
  MONGODB_DB: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, "must be a plain database name")
    .default("parley").meta({ description: "MongoDB database name." }),
  MONGODB_USERS_COLLECTION: z.string().regex(
    /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,119}$/,
    "must be a plain collection name",
  ).optional().meta({
    description: "Read users from the host app's collection of this name (e.g. `users`): " +
      "Parley then writes only `isOnline` and `lastSeen` there and creates no user. " +
      "Unset: Parley's own collection.",
  }),
  USER_NAME_FIELD: z.string().regex(
    /^[A-Za-z_$][\w$]*(\.[A-Za-z_$][\w$]*)*$/,
    "must be a field name or a dotted path",
  ).default("username").meta({
    description: "With `MONGODB_USERS_COLLECTION`: the field of the host's user documents " +
      "that holds the display name.",
  }),
  MONGODB_ID_TYPE: z.enum(["string", "objectId"]).default("string").meta({
    description: "`objectId`: `senderId` and `receiverId` of messages are stored as ObjectIds " +
      "when they are 24 lowercase hex digits, so the host can `populate()` them; clients still " +
      "see strings.",
  }),
  SQLITE_PATH: z.string().min(1).default("./data/parley.db").meta({
    description: "SQLite file when MongoDB is not used; `:memory:` keeps nothing.",
  }),
  KV_PATH: z.string().optional().meta({
    description: "Ignored (Deno KV was replaced by SQLite); when set, a start-up warning says so.",
  }),
  REDIS_URL: z.string().regex(/^rediss?:\/\//, "must start with redis:// or rediss://").optional()
    .meta({ description: "Run as one node of a cluster (README, Running a cluster)." }),
  CLUSTER_NODE_TTL_MS: int(300, 300_000).default(15_000).meta({
    description: "A node whose heartbeat is older than this is dead; its users go offline.",
  }),
  CORS_ORIGINS: OriginList.optional().meta({
    description: "Browser origins allowed besides the page's own, comma-separated; `*`: any.",
  }),
  ALLOWED_HOSTS: lowercaseList().refine(
    (hosts) => hosts.every((host) => /^[a-z0-9.-]+$|^\[[0-9a-f:.]+\]$/.test(host)),
    "must be host names or addresses without ports, comma-separated",
  ).optional().meta({ description: "`Host` names served, comma-separated; unset: any." }),
  TRUST_PROXY: Flag.prefault("false").meta({
    description: "Take client addresses from `X-Forwarded-For` (only behind your own proxy).",
  }),
  PRESENCE_BROADCAST: z.enum(["partners", "all"]).default("partners").meta({
    description: "Who hears presence: users who share a conversation, or every socket.",
  }),
  PRESENCE_GRACE_MS: int(0, 1500).default(1000).meta({
    description: "How long a user whose last socket closed stays online.",
  }),
  DELIVERY_ACK_TIMEOUT_MS: int(100, 600_000).default(10_000).meta({
    description: "How long a device has to acknowledge a `receiveMessage`.",
  }),
  MAX_UNACKED_PER_SOCKET: int(1, 100_000).default(100).meta({
    description: "`receiveMessage`s sent to one socket and not yet acknowledged, at most.",
  }),
  MAX_WRITE_BUFFER_BYTES: int(1024, 1 << 30).default(1 << 20).meta({
    description:
      "Bytes a socket may hold unsent (a peer that does not read) before the timeout below runs.",
  }),
  WRITE_BUFFER_TIMEOUT_MS: int(100, 600_000).default(15_000).meta({
    description:
      "How long a socket may stay over `MAX_WRITE_BUFFER_BYTES` before it is disconnected.",
  }),
  EDIT_WINDOW_MS: int(0, 2 ** 47).default(900_000).meta({
    description: "How long after sending a message its sender may edit it; `0`: no limit.",
  }),
  MAX_GROUP_MEMBERS: int(2, 10_000).default(256).meta({
    description: "Most members a group may have, its creator included.",
  }),
  RECOVERY_WINDOW_MS: int(0, 3_600_000).default(120_000).meta({
    description: "How long a dropped connection may resume its Socket.IO session; `0`: never.",
  }),
  RECOVERY_BUFFER_BYTES: int(4096, 2 ** 31).default(16 * 2 ** 20).meta({
    description:
      "Bytes of room broadcasts one node keeps for connection state recovery (allocated at start); older ones are not replayed.",
  }),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info").meta({
    description: "Least level logged (JSON lines, without message text).",
  }),
  RATE_LIMITS: z.enum(["on", "off"]).default("on").meta({
    description: "`off` lifts every rate limit (benchmarks, trusted networks only).",
  }),
  RATE_LIMIT_SEND: Bucket.prefault("10:20").meta({ description: "Per user, `sendMessage`." }),
  RATE_LIMIT_TYPING: Bucket.prefault("5:10").meta({ description: "Per user, `typing`." }),
  RATE_LIMIT_HISTORY: Bucket.prefault("5:20").meta({ description: "Per user, `getChatHistory`." }),
  RATE_LIMIT_READ: Bucket.prefault("50:100").meta({
    description: "Per user, `messageRead` and `markGroupRead` together.",
  }),
  RATE_LIMIT_EDIT: Bucket.prefault("2:10").meta({ description: "Per user, `editMessage`." }),
  RATE_LIMIT_REACT: Bucket.prefault("5:20").meta({
    description: "Per user, `addReaction` and `removeReaction` together.",
  }),
  RATE_LIMIT_BLOCK: Bucket.prefault("1:10").meta({
    description: "Per user, `blockUser` and `unblockUser` together.",
  }),
  RATE_LIMIT_GROUP: Bucket.prefault("1:10").meta({
    description: "Per user, `createGroup`, `addGroupMembers`, `removeGroupMember`, " +
      "`leaveGroup` and `renameGroup` together.",
  }),
  RATE_LIMIT_REST: Bucket.prefault("10:40").meta({
    description: "Per user, every authenticated REST call.",
  }),
  RATE_LIMIT_ANON_REST: Bucket.prefault("5:20").meta({
    description: "Per IP, REST calls without a valid token (and the dev token route).",
  }),
  RATE_LIMIT_CONNECT: Bucket.prefault("20:60").meta({
    description: "Per IP, Socket.IO connection attempts.",
  }),
  RATE_LIMIT_HANDSHAKE: Bucket.prefault("40:120").meta({
    description: "Per IP, Engine.IO handshakes (before a session exists).",
  }),
  MAX_PENDING_SESSIONS: int(1, 1_000_000).default(10_000).meta({
    description: "Engine.IO sessions that may wait unauthenticated at once.",
  }),
  MAX_SOCKETS_PER_USER: int(1, 10_000).default(20).meta({
    description: "Sockets one user may hold on one node; the next closes the oldest.",
  }),
  MAX_SOCKET_PAYLOAD_BYTES: int(1024, 16_777_216).default(65_536).meta({
    description: "Largest Socket.IO frame; a larger one closes the connection.",
  }),
  MAX_BODY_BYTES: int(1024, 16_777_216).default(65_536).meta({
    description: "Largest REST request body (uploads have their own limit).",
  }),
  MESSAGE_ENCRYPTION_KEYS: EncryptionKeys.optional().meta({
    description: "`id:base64key,...` (32-byte keys) encrypting messages and files at rest.",
  }),
  // Attachments and push notifications (docs/attachments-and-notifications.md).
  PUBLIC_URL: httpUrl().transform((url) => new URL(url).origin).optional().meta({
    description: "Origin clients reach Parley at, for upload links; unset: the request's.",
  }),
  UPLOAD_DIR: z.string().min(1).default("./data/uploads").meta({
    description: "Directory of upload bytes with SQLite (MongoDB keeps them in GridFS).",
  }),
  UPLOAD_MAX_BYTES: int(1, 2 ** 31).default(10 * 1024 * 1024).meta({
    description: "Largest upload.",
  }),
  UPLOAD_QUOTA_BYTES: int(1, 2 ** 50).default(1024 ** 3).meta({
    description: "Most bytes one user's stored uploads (sent or not) may take together.",
  }),
  UPLOAD_RETENTION_MS: int(100, 30 * 86_400_000).default(86_400_000).meta({
    description: "An upload never sent in a message is removed after this long.",
  }),
  PUSH_WEBHOOK_URL: httpUrl().optional().meta({
    description: "Webhook for messages to users with no connected socket.",
  }),
  PUSH_WEBHOOK_SECRET: z.string().min(32, "must be at least 32 characters").optional().meta({
    description: "HMAC key signing webhook calls; required with PUSH_WEBHOOK_URL.",
  }),
  EVENTS_WEBHOOK_URL: httpUrl().optional().meta({
    description: "Webhook receiving chat events (message.created, user.online, …), one per POST.",
  }),
  EVENTS_WEBHOOK_SECRET: z.string().min(32, "must be at least 32 characters").optional().meta({
    description: "HMAC key signing events webhook calls; required with EVENTS_WEBHOOK_URL.",
  }),
  PUSH_INCLUDE_TEXT: Flag.prefault("false").meta({
    description: "Put the message text into Web Push notifications.",
  }),
  PUSH_MAX_ATTEMPTS: int(1, 20).default(6).meta({ description: "Attempts per notification." }),
  PUSH_RETRY_BASE_MS: int(1, 600_000).default(1000).meta({
    description: "First retry delay, doubled each time.",
  }),
  PUSH_ALLOW_INSECURE_ENDPOINTS: Flag.prefault("false").meta({
    description: "Accept `http:` push endpoints (emulators and tests only).",
  }),
  PUSH_ENDPOINT_HOSTS: lowercaseList().refine(
    (hosts) => hosts.every((host) => /^(\*\.)?[a-z0-9.:\[\]-]+$/.test(host)),
    'must be host names, each maybe starting with "*." (e.g. *.push.apple.com)',
  ).prefault(
    "fcm.googleapis.com,updates.push.services.mozilla.com,*.push.apple.com,*.notify.windows.com",
  ).meta({ description: "Hosts a Web Push endpoint may name; `*.` matches any subdomain." }),
  VAPID_PUBLIC_KEY: z.string().regex(/^[A-Za-z0-9_-]{87}$/, "must be a base64url P-256 public key")
    .optional().meta({ description: "Web Push public key (with the other two VAPID_*)." }),
  VAPID_PRIVATE_KEY: z.string().regex(/^[A-Za-z0-9_-]{43}$/, "must be a base64url P-256 key")
    .optional().meta({ description: "Web Push private key (with the other two VAPID_*)." }),
  VAPID_SUBJECT: z.string().regex(/^(mailto:|https:\/\/)\S+$/, "must be a mailto: or https: URL")
    .optional().meta({ description: "Web Push contact (with the other two VAPID_*)." }),
});

type Env = z.output<typeof ENV>;

/** A declared variable, as the README's configuration tables list it. */
export interface Setting {
  readonly name: string;
  /** As written in the environment; undefined: none (unset means off, or see the description). */
  readonly default?: string;
  readonly description: string;
}

/** Every variable `loadConfig()` reads, in declaration order. */
export function declaredSettings(): readonly Setting[] {
  return Object.entries(ENV.shape).map(([name, schema]) => ({
    name,
    default: "defaultValue" in schema.def ? String(schema.def.defaultValue) : undefined,
    description: String(schema.meta()?.description ?? ""),
  }));
}

/** The parsed environment, grouped by the part of Parley that uses it. */
function toConfig(e: Env) {
  const devMode = !e.JWT_SECRET && !e.JWT_JWKS_URL;
  return Object.freeze({
    port: e.PORT,
    host: e.HOST,
    auth: Object.freeze({
      /** No secret and no JWKS: tokens are minted by `POST /api/dev/token`. */
      devMode,
      secret: e.JWT_SECRET,
      jwksUrl: e.JWT_JWKS_URL,
      issuer: e.JWT_ISSUER,
      audience: e.JWT_AUDIENCE,
      /** Keys of the service API; empty: `/api/service/*` is not served. */
      serviceKeys: Object.freeze(e.SERVICE_API_KEYS),
      /** Least time between two JWKS downloads (an unknown `kid` triggers one). */
      jwksCooldownMs: e.JWT_JWKS_COOLDOWN_MS,
      /** Refuse tokens without `exp` (`JWT_REQUIRE_EXP`, default true). */
      requireExp: e.JWT_REQUIRE_EXP,
      /** Refuse tokens valid for longer than this many seconds after they were issued. */
      maxTtlSeconds: e.JWT_MAX_TTL,
      /** The claim that holds the user id (`JWT_USER_CLAIM`, default `sub`). */
      userClaim: e.JWT_USER_CLAIM,
      /** Claims tried in order for the display name (`JWT_NAME_CLAIM`). */
      nameClaims: Object.freeze(e.JWT_NAME_CLAIM),
    }),
    store: e.MONGODB_URI
      ? { kind: "mongo", uri: e.MONGODB_URI, db: e.MONGODB_DB, ...mongoUserOptions(e) } as const
      : { kind: "sqlite", path: e.SQLITE_PATH } as const,
    /** Set with `REDIS_URL`: this process is one node of a cluster. */
    cluster: e.REDIS_URL
      ? Object.freeze({
        redisUrl: e.REDIS_URL,
        /**
         * A node that has not renewed its heartbeat for this long counts as dead; its users go
         * offline within about 4/3 of it (heartbeats and sweeps run every third of it).
         */
        nodeTtlMs: e.CLUSTER_NODE_TTL_MS,
      })
      : undefined,
    /** `"*"` only when set explicitly; an empty list allows same-origin pages only. */
    corsOrigins: e.CORS_ORIGINS ?? Object.freeze<string[]>([]),
    /** Which `Host` headers are served (hosts.ts). */
    hosts: Object.freeze<HostPolicy>({
      loopbackOnly: devMode,
      names: e.ALLOWED_HOSTS?.length ? Object.freeze(e.ALLOWED_HOSTS) : "any",
      publicHost: e.PUBLIC_URL ? hostName(new URL(e.PUBLIC_URL).host) : undefined,
    }),
    presence: Object.freeze({ broadcast: e.PRESENCE_BROADCAST, graceMs: e.PRESENCE_GRACE_MS }),
    delivery: Object.freeze({
      ackTimeoutMs: e.DELIVERY_ACK_TIMEOUT_MS,
      /** Connection state recovery: the room broadcasts kept to replay, by age and number. */
      recovery: Object.freeze({
        windowMs: e.RECOVERY_WINDOW_MS,
        maxBytes: e.RECOVERY_BUFFER_BYTES,
      }),
      /** `receiveMessage`s sent to one socket and not yet acknowledged, at most. */
      maxUnackedPerSocket: e.MAX_UNACKED_PER_SOCKET,
      /** A socket holding more than `maxBytes` unsent for `timeoutMs` is disconnected. */
      writeBuffer: Object.freeze({
        maxBytes: e.MAX_WRITE_BUFFER_BYTES,
        timeoutMs: e.WRITE_BUFFER_TIMEOUT_MS,
      }),
    }),
    chat: Object.freeze({
      /** How long after sending a message its sender may edit it; 0: no limit. */
      editWindowMs: e.EDIT_WINDOW_MS,
      /** Most members a group may have, its creator included. */
      maxGroupMembers: e.MAX_GROUP_MEMBERS,
    }),
    logLevel: e.LOG_LEVEL,
    /** Each rate-limited action's bucket, per user (per IP for anonymous ones); null: off. */
    rateLimits: e.RATE_LIMITS === "off" ? null : Object.freeze({
      send: e.RATE_LIMIT_SEND,
      typing: e.RATE_LIMIT_TYPING,
      history: e.RATE_LIMIT_HISTORY,
      read: e.RATE_LIMIT_READ,
      edit: e.RATE_LIMIT_EDIT,
      react: e.RATE_LIMIT_REACT,
      block: e.RATE_LIMIT_BLOCK,
      group: e.RATE_LIMIT_GROUP,
      rest: e.RATE_LIMIT_REST,
      anonRest: e.RATE_LIMIT_ANON_REST,
      connect: e.RATE_LIMIT_CONNECT,
      handshake: e.RATE_LIMIT_HANDSHAKE,
    }),
    limits: Object.freeze({
      socketPayloadBytes: e.MAX_SOCKET_PAYLOAD_BYTES,
      bodyBytes: e.MAX_BODY_BYTES,
      /** Sockets one user may hold on one node; the next closes the oldest. */
      socketsPerUser: e.MAX_SOCKETS_PER_USER,
      /** Engine.IO sessions that may wait unauthenticated at once; one more closes the oldest. */
      pendingSessions: e.MAX_PENDING_SESSIONS,
    }),
    /** Take client addresses from `X-Forwarded-For` (only behind a proxy you run). */
    trustProxy: e.TRUST_PROXY,
    /** The first key encrypts; all of them decrypt. Empty: stored in clear. */
    encryptionKeys: Object.freeze(e.MESSAGE_ENCRYPTION_KEYS ?? []),
    /** Origin clients reach Parley at (`PUBLIC_URL`), for upload links; unset: the request's. */
    publicUrl: e.PUBLIC_URL,
    uploads: Object.freeze({
      /** Local directory for upload bytes with SQLite (MongoDB keeps them in GridFS). */
      dir: e.UPLOAD_DIR,
      maxBytes: e.UPLOAD_MAX_BYTES,
      /** Most bytes one user's stored uploads (sent or not) may take together. */
      quotaBytes: e.UPLOAD_QUOTA_BYTES,
      /** An upload never sent in a message is removed after this long. */
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
      /** The events webhook (src/push/events.ts); its retries follow the PUSH_* settings. */
      events: e.EVENTS_WEBHOOK_URL && e.EVENTS_WEBHOOK_SECRET
        ? Object.freeze({ url: e.EVENTS_WEBHOOK_URL, secret: e.EVENTS_WEBHOOK_SECRET })
        : undefined,
      /** Put the message text into Web Push notifications. */
      includeText: e.PUSH_INCLUDE_TEXT,
      maxAttempts: e.PUSH_MAX_ATTEMPTS,
      retryBaseMs: e.PUSH_RETRY_BASE_MS,
      /** Accept `http:` push endpoints (local push-service emulators and tests only). */
      allowInsecureEndpoints: e.PUSH_ALLOW_INSECURE_ENDPOINTS,
      /** Hosts Web Push endpoints may name (`PUSH_ENDPOINT_HOSTS`); `*.` matches any subdomain. */
      endpointHosts: Object.freeze(e.PUSH_ENDPOINT_HOSTS),
    }),
    /** Settings that are accepted but do nothing, each with what to do instead (logged at start). */
    warnings: Object.freeze(
      e.KV_PATH === undefined ? [] : [
        `KV_PATH is ignored: Deno KV was replaced by SQLite. The embedded store is ` +
        `SQLITE_PATH (now ${JSON.stringify(e.SQLITE_PATH)}); nothing is read from ` +
        `${JSON.stringify(e.KV_PATH)}.`,
      ],
    ),
  });
}

/** How the MongoDB store meets the host app's users; absent fields: Parley's own ways. */
export interface MongoUserOptions {
  /** `MONGODB_USERS_COLLECTION`: users are the host app's documents in this collection. */
  hostUsers?: { collection: string; nameField: string };
  /** `MONGODB_ID_TYPE=objectId`: message user ids stored as ObjectIds. */
  idType?: "objectId";
}

function mongoUserOptions(e: Env): MongoUserOptions {
  return {
    ...(e.MONGODB_USERS_COLLECTION
      ? { hostUsers: { collection: e.MONGODB_USERS_COLLECTION, nameField: e.USER_NAME_FIELD } }
      : {}),
    ...(e.MONGODB_ID_TYPE === "objectId" ? { idType: "objectId" as const } : {}),
  };
}

/** Everything Parley is configured with; built once from the environment by `loadConfig()`. */
export type Config = ReturnType<typeof toConfig>;
export type ClusterConfig = NonNullable<Config["cluster"]>;
export type PushConfig = Config["push"];
/** A token bucket: refilled at `perSecond`, holding at most `burst`. */
export type RateBucket = z.output<typeof Bucket>;
/** Every rate-limited action; the user's (or, for anonymous ones, the IP's) own bucket. */
export type RateLimitName = keyof NonNullable<Config["rateLimits"]>;

export class ConfigError extends Error {
  override name = "ConfigError";
}

/** Parses the environment; throws ConfigError naming each bad variable and its value. */
export function loadConfig(env: Record<string, string | undefined>): Config {
  const cleaned = Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ""),
  );
  const parsed = ENV.safeParse(cleaned);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((issue) => {
      const name = String(issue.path[0]);
      const given = /SECRET|KEY/.test(name)
        ? "(hidden)"
        : JSON.stringify(withoutPassword(cleaned[name]));
      return `  ${name}: ${issue.message} (given: ${given})`;
    });
    throw new ConfigError(`Invalid configuration:\n${lines.join("\n")}`);
  }
  const problems = combinationProblems(parsed.data, cleaned);
  if (problems.length > 0) {
    throw new ConfigError(`Invalid configuration:\n  ${problems.join("\n  ")}`);
  }
  return toConfig(parsed.data);
}

/** A URL's password (`mongodb://user:pw@host`) never reaches a log line. */
function withoutPassword(value: string | undefined): string | undefined {
  return value?.replace(/^([a-z][a-z0-9+.-]*:\/\/[^/@:]*:)[^/@]*@/i, "$1(hidden)@");
}

/** Variables each valid alone that do not go together. */
function combinationProblems(e: Env, given: Record<string, unknown>): string[] {
  const devMode = !e.JWT_SECRET && !e.JWT_JWKS_URL;
  const mongoOnly = ["MONGODB_USERS_COLLECTION", "USER_NAME_FIELD", "MONGODB_ID_TYPE"]
    .filter((name) => name in given);
  return [
    !e.MONGODB_URI && mongoOnly.length > 0 &&
    `${mongoOnly.join(", ")}: only with MONGODB_URI (users and ids in the host app's ` +
      `MongoDB); the SQLite store keeps its own users.`,
    devMode && !isLoopbackHost(e.HOST) &&
    `HOST: dev mode (no JWT_SECRET or JWT_JWKS_URL) lets anyone mint tokens, so it only ` +
      `listens on a loopback address (given: ${JSON.stringify(e.HOST)}). Set JWT_SECRET or ` +
      `JWT_JWKS_URL to listen on other addresses.`,
    e.REDIS_URL && !e.MONGODB_URI &&
    `REDIS_URL: a cluster needs the shared MongoDB store: set MONGODB_URI too (one SQLite ` +
      `file serves one process).`,
    e.PUSH_WEBHOOK_URL && !e.PUSH_WEBHOOK_SECRET &&
    "PUSH_WEBHOOK_SECRET: required with PUSH_WEBHOOK_URL (webhooks are always signed)",
    e.EVENTS_WEBHOOK_URL && !e.EVENTS_WEBHOOK_SECRET &&
    "EVENTS_WEBHOOK_SECRET: required with EVENTS_WEBHOOK_URL (webhooks are always signed)",
    [e.VAPID_PUBLIC_KEY, e.VAPID_PRIVATE_KEY, e.VAPID_SUBJECT].filter(Boolean).length % 3 !== 0 &&
    "VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY, VAPID_SUBJECT: Web Push needs all three, or none",
  ].filter((problem): problem is string => typeof problem === "string");
}
