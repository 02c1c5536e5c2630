/**
 * Signed webhooks: one `POST` of a JSON body per delivery, to an URL of the
 * app's own backend. Two use it: the push webhook (`PUSH_WEBHOOK_URL`, a
 * message to an offline user, which the app relays its own way: mobile push,
 * e-mail, …) and the events webhook (`EVENTS_WEBHOOK_URL`, events.ts).
 *
 * Signature (`X-Parley-Signature: t=<unix seconds>,v1=<hex>`): HMAC-SHA256
 * with the webhook's secret over `<t>.<raw body>`. The receiver recomputes
 * it, compares in constant time, and refuses an old `t` (replays).
 * `X-Parley-Delivery` (the outbox entry's id) stays the same across retries
 * and restarts: dedupe on it.
 */
import type { ChatMessage } from "../protocol/types.ts";
import { type AttemptOutcome, outcomeOf, post } from "./http_delivery.ts";
import type { AttemptContext, OutboxChannel } from "./outbox_dispatcher.ts";

/** The push webhook's body. */
export interface WebhookEvent {
  event: "message";
  message: ChatMessage;
  receiver: { _id: string; username: string | null; email: string | null };
  /** A group message's group (one call per offline member); absent on a 1:1 message. */
  group?: { _id: string; name: string };
}

export interface WebhookOptions {
  url: string;
  secret: string;
  /** One attempt's time limit (default 10 s). */
  timeoutMs?: number;
}

export const SIGNATURE_HEADER = "X-Parley-Signature";

export class SignedWebhook {
  private readonly key: Promise<CryptoKey>;

  constructor(private readonly options: WebhookOptions) {
    this.key = hmacKey(options.secret);
  }

  /**
   * One signed POST of `body` (JSON text with an `event` field, sent as the
   * `X-Parley-Event` header too); each attempt is signed anew, over the same body.
   */
  async deliver(body: string, context: AttemptContext): Promise<AttemptOutcome> {
    const { event } = JSON.parse(body) as { event: string };
    const timestamp = Math.floor(Date.now() / 1000);
    const signature = await sign(await this.key, timestamp, body);
    const response = await post(
      this.options.url,
      {
        headers: {
          "Content-Type": "application/json",
          "User-Agent": "Parley-Webhook/1",
          "X-Parley-Event": event,
          "X-Parley-Delivery": context.deliveryId,
          "X-Parley-Attempt": String(context.attempt),
          [SIGNATURE_HEADER]: `t=${timestamp},v1=${signature}`,
        },
        body,
      },
      this.options.timeoutMs ?? 10_000,
      context.signal,
    );
    return outcomeOf(response);
  }

  /** The outbox channel whose entries' payloads are this webhook's bodies. */
  channel(retry: Omit<OutboxChannel, "attempt">): OutboxChannel {
    return { ...retry, attempt: (payload, context) => this.deliver(payload, context) };
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
