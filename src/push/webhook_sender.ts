/**
 * The webhook channel: one signed `POST` per message to an offline user, to
 * the app's own backend (`PUSH_WEBHOOK_URL`), which reaches the user its own
 * way (mobile push, e-mail, …).
 *
 * Signature (`X-Parley-Signature: t=<unix seconds>,v1=<hex>`): HMAC-SHA256
 * with `PUSH_WEBHOOK_SECRET` over `<t>.<raw body>`. The receiver recomputes
 * it, compares in constant time, and refuses an old `t` (replays).
 * `X-Parley-Delivery` stays the same across retries of one event: dedupe on it.
 */
import type { ChatMessage } from "../protocol/types.ts";
import {
  type AttemptOutcome,
  isTransient,
  post,
  retryAfterMs,
  type RetryQueue,
} from "./retry_queue.ts";

export interface WebhookEvent {
  event: "message";
  message: ChatMessage;
  receiver: { _id: string; username: string | null; email: string | null };
}

export interface WebhookOptions {
  url: string;
  secret: string;
  /** One attempt's time limit (default 10 s). */
  timeoutMs?: number;
}

export const SIGNATURE_HEADER = "X-Parley-Signature";

export class WebhookSender {
  private readonly key: Promise<CryptoKey>;

  constructor(private readonly options: WebhookOptions, private readonly queue: RetryQueue) {
    this.key = hmacKey(options.secret);
  }

  /** Queues the event; returns at once. */
  send(event: WebhookEvent): void {
    const body = JSON.stringify(event);
    const deliveryId = crypto.randomUUID();
    const { url, timeoutMs = 10_000 } = this.options;
    this.queue.add({
      label: { channel: "webhook", deliveryId, messageId: event.message._id },
      attempt: async (signal, attempt): Promise<AttemptOutcome> => {
        const timestamp = Math.floor(Date.now() / 1000);
        const signature = await sign(await this.key, timestamp, body);
        const response = await post(
          url,
          {
            headers: {
              "Content-Type": "application/json",
              "User-Agent": "Parley-Webhook/1",
              "X-Parley-Event": event.event,
              "X-Parley-Delivery": deliveryId,
              "X-Parley-Attempt": String(attempt),
              [SIGNATURE_HEADER]: `t=${timestamp},v1=${signature}`,
            },
            body,
          },
          timeoutMs,
          signal,
        );
        if (response.ok) return { status: "done" };
        const reason = `HTTP ${response.status}`;
        return isTransient(response.status)
          ? {
            status: "retry",
            reason,
            retryAfterMs: retryAfterMs(response.headers.get("retry-after")),
          }
          : { status: "failed", reason };
      },
    });
  }
}

function hmacKey(secret: string): Promise<CryptoKey> {
  return crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(secret),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign", "verify"],
  );
}

/** Hex HMAC-SHA256 of `<timestamp>.<body>`. */
export async function sign(key: CryptoKey, timestamp: number, body: string): Promise<string> {
  const mac = await crypto.subtle.sign(
    "HMAC",
    key,
    new TextEncoder().encode(`${timestamp}.${body}`),
  );
  return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Checks a signature header as a receiver would (exported for tests and as a
 * reference for receivers): the HMAC matches and `t` is at most `toleranceS` old.
 */
export async function verifySignature(
  secret: string,
  header: string | null,
  body: string,
  toleranceS = 300,
  now = Date.now(),
): Promise<boolean> {
  const match = /^t=(\d+),v1=([0-9a-f]{64})$/.exec(header ?? "");
  if (!match) return false;
  const timestamp = Number(match[1]);
  if (Math.abs(now / 1000 - timestamp) > toleranceS) return false;
  const mac = Uint8Array.from(match[2]!.match(/../g)!, (hex) => parseInt(hex, 16));
  const data = new TextEncoder().encode(`${timestamp}.${body}`);
  return crypto.subtle.verify("HMAC", await hmacKey(secret), mac, data);
}
