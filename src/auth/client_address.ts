/**
 * The caller's address, for per-IP limits. `X-Forwarded-For` is believed only
 * with TRUST_PROXY=true: anyone can send that header to a bare server.
 */
export function clientAddress(
  remoteAddress: string | undefined,
  forwardedFor: string | string[] | undefined | null,
  trustProxy: boolean,
): string {
  if (trustProxy && forwardedFor) {
    const header = Array.isArray(forwardedFor) ? forwardedFor[0] : forwardedFor;
    const first = header?.split(",")[0]?.trim();
    if (first) return first;
  }
  return remoteAddress ?? "unknown";
}
