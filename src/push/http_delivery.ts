/**
 * One HTTP delivery attempt and what it says: the pieces the outbox's
 * channels (webhooks, Web Push) share.
 */

/** What one attempt says. */
export type AttemptOutcome =
  | { status: "done" }
  | { status: "retry"; reason: string; retryAfterMs?: number }
  | { status: "failed"; reason: string };

/** Retry-After in seconds or as a date, in milliseconds from now; undefined when absent or bad. */
export function retryAfterMs(header: string | null, now = Date.now()): number | undefined {
  if (!header) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Whether an HTTP status is worth another try later. */
export function isTransient(status: number): boolean {
  return status === 408 || status === 425 || status === 429 || status >= 500;
}

/** A 2xx is done; a transient status is retried (after its Retry-After, if any); the rest failed. */
export function outcomeOf(response: Response): AttemptOutcome {
  if (response.ok) return { status: "done" };
  const reason = `HTTP ${response.status}`;
  return isTransient(response.status)
    ? { status: "retry", reason, retryAfterMs: retryAfterMs(response.headers.get("retry-after")) }
    : { status: "failed", reason };
}

/** `fetch` with a time limit that also stops when `signal` aborts; the body is always consumed. */
export async function post(
  url: string,
  init: { headers: Record<string, string>; body: Uint8Array | string },
  timeoutMs: number,
  signal: AbortSignal,
): Promise<Response> {
  const controller = new AbortController();
  const stop = () => controller.abort();
  signal.addEventListener("abort", stop, { once: true });
  const timer = setTimeout(stop, timeoutMs);
  try {
    const response = await fetch(url, {
      method: "POST",
      headers: init.headers,
      body: init.body as BodyInit,
      signal: controller.signal,
      redirect: "manual",
    });
    await response.body?.cancel();
    return response;
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", stop);
  }
}
