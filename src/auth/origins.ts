/**
 * Which browser origins may use Parley: those in CORS_ORIGINS, and the page's
 * own origin (same host). Requests without an Origin header come from
 * non-browser clients and are not an origin question.
 */
export type AllowedOrigins = "*" | readonly string[];

export function isOriginAllowed(
  origin: string | undefined | null,
  host: string | undefined | null,
  allowed: AllowedOrigins,
): boolean {
  if (!origin) return true;
  if (allowed === "*" || allowed.includes(origin)) return true;
  try {
    return host !== undefined && host !== null && new URL(origin).host === host.toLowerCase();
  } catch {
    return false;
  }
}
