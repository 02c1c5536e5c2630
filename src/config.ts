/** The environment, parsed once by zod into a typed, frozen Config. */
import { z } from "zod";

const LOOPBACK_HOSTS = new Set(["localhost", "::1", "[::1]"]);

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

const optionalText = z.string().trim().min(1).optional().catch(undefined);

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
  KV_PATH: z.string().min(1).default("./data/parley.kv"),
  CORS_ORIGINS: z.string().default(""),
  PRESENCE_BROADCAST: z.enum(["partners", "all"]).default("partners"),
  PRESENCE_GRACE_MS: z.coerce.number().int().min(0).max(1500).default(1000),
  DELIVERY_ACK_TIMEOUT_MS: z.coerce.number().int().min(100).max(600_000).default(10_000),
  RECOVERY_WINDOW_MS: z.coerce.number().int().min(0).max(3_600_000).default(120_000),
  LOG_LEVEL: z.enum(["debug", "info", "warn", "error", "silent"]).default("info"),
});

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
  };
  readonly store:
    | { readonly kind: "mongo"; readonly uri: string; readonly db: string }
    | { readonly kind: "kv"; readonly path: string };
  /** `"*"` only when set explicitly; an empty list allows same-origin pages only. */
  readonly corsOrigins: "*" | readonly string[];
  readonly presence: { readonly broadcast: "partners" | "all"; readonly graceMs: number };
  readonly delivery: { readonly ackTimeoutMs: number; readonly recoveryWindowMs: number };
  readonly logLevel: z.infer<typeof EnvSchema>["LOG_LEVEL"];
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
      const given = name.includes("SECRET") ? "(hidden)" : JSON.stringify(cleaned[name]);
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
    }),
    store: e.MONGODB_URI
      ? { kind: "mongo", uri: e.MONGODB_URI, db: e.MONGODB_DB } as const
      : { kind: "kv", path: e.KV_PATH } as const,
    corsOrigins: origins.includes("*") ? "*" : Object.freeze(origins),
    presence: Object.freeze({ broadcast: e.PRESENCE_BROADCAST, graceMs: e.PRESENCE_GRACE_MS }),
    delivery: Object.freeze({
      ackTimeoutMs: e.DELIVERY_ACK_TIMEOUT_MS,
      recoveryWindowMs: e.RECOVERY_WINDOW_MS,
    }),
    logLevel: e.LOG_LEVEL,
  });
}
