/**
 * Which `Host` a request may name. A browser page on any site can reach a
 * server on this machine by a name of its own that resolves here (DNS
 * rebinding); its requests then carry that foreign name. In dev mode, where
 * anyone who reaches `POST /api/dev/token` gets a token, only loopback names
 * are served; otherwise `ALLOWED_HOSTS` can pin the names (default: any).
 * `PUBLIC_URL`'s host is always allowed.
 *
 * It sits beside config.ts, not in auth/, and imports nothing: config.ts builds the policy
 * from the environment, and everything else (auth/ too) reads config.ts.
 */

const LOOPBACK_HOSTS = new Set(["localhost", "::1", "[::1]"]);

/** True for addresses only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host);
}

export interface HostPolicy {
  /** Dev mode: loopback names and addresses only (besides `publicHost`). */
  readonly loopbackOnly: boolean;
  /** `ALLOWED_HOSTS`, lowercase host names without ports; "any" when unset. */
  readonly names: "any" | readonly string[];
  /** The host of `PUBLIC_URL`, when set. */
  readonly publicHost?: string;
}

/** The host name of a `Host` header, lowercase, without its port (`[::1]` keeps its brackets). */
export function hostName(header: string): string {
  const host = header.trim().toLowerCase();
  if (host.startsWith("[")) return host.slice(0, host.indexOf("]") + 1);
  const colon = host.lastIndexOf(":");
  return colon === -1 || host.indexOf(":") !== colon ? host : host.slice(0, colon);
}

export function isHostAllowed(header: string | undefined | null, policy: HostPolicy): boolean {
  if (!policy.loopbackOnly && policy.names === "any") return true;
  if (!header) return false;
  const name = hostName(header);
  if (name === policy.publicHost) return true;
  if (policy.loopbackOnly) return isLoopbackHost(name);
  return policy.names !== "any" && policy.names.includes(name);
}
