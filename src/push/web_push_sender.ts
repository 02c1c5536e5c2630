/**
 * The Web Push channel (RFC 8030 delivery, RFC 8291 payload encryption,
 * RFC 8292 VAPID): npm `web-push` builds each request (signed VAPID JWT,
 * aes128gcm-encrypted body) and `fetch` sends it, so the time limit, the
 * retries and shutdown are ours. Each request is an outbox entry holding the
 * subscription and the notification (outbox_dispatcher.ts), so a restart
 * loses none. A subscription the push service calls gone (404 or 410) is
 * deleted.
 */
// @ts-types="npm:@types/web-push@3.6.4"
import webpush from "web-push";
import { AppError } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { PushSubscriptionInput } from "../schemas/attachment_inputs.ts";
import { type AttemptOutcome, outcomeOf, post } from "./http_delivery.ts";
import type { OutboxChannel } from "./outbox_dispatcher.ts";
import type { NewOutboxEntry } from "../store/outbox_store.ts";
import {
  endpointId,
  type StoredSubscription,
  type SubscriptionStore,
} from "../store/subscription_store.ts";

export interface VapidKeys {
  publicKey: string;
  privateKey: string;
  /** `mailto:` or `https:` contact of the operator, sent to push services. */
  subject: string;
}

export interface WebPushOptions {
  vapid: VapidKeys;
  /** Accept `http:` endpoints (local push-service emulators and tests only). */
  allowInsecureEndpoints: boolean;
  /**
   * The push services' hosts (`*.` for any subdomain): the server connects to
   * an endpoint, so one a client may choose freely would let it make the
   * server reach anything (SSRF).
   */
  endpointHosts: readonly string[];
  /** How long a push service keeps a notification for an offline browser (default 1 day). */
  ttlSeconds?: number;
  /** One attempt's time limit (default 10 s). */
  timeoutMs?: number;
}

/** The notification a service worker receives (`event.data.json()`). */
export interface PushNotification {
  type: "message";
  messageId: string;
  senderId: string;
  senderName: string | null;
  createdAt: string;
  /** The attachment's kind, if the message has one (never its name). */
  attachment: "image" | "video" | "audio" | "document" | null;
  /** Only with `PUSH_INCLUDE_TEXT=true`, cut to fit a push message. */
  text?: string;
  /** A group message's group; absent on a 1:1 message. */
  group?: { _id: string; name: string };
}

/** An outbox entry of the Web Push channel. */
interface WebPushEntry {
  subscription: StoredSubscription;
  notification: PushNotification;
}

export class WebPushSender {
  constructor(
    private readonly options: WebPushOptions,
    private readonly subscriptions: SubscriptionStore,
    /** Stores outbox entries (OutboxDispatcher.enqueue). */
    private readonly enqueue: (entries: NewOutboxEntry[]) => Promise<void>,
    private readonly log: Logger,
  ) {}

  get publicKey(): string {
    return this.options.vapid.publicKey;
  }

  async subscribe(userId: string, input: PushSubscriptionInput): Promise<StoredSubscription> {
    const { protocol } = new URL(input.endpoint);
    if (protocol !== "https:" && !this.options.allowInsecureEndpoints) {
      throw new AppError("VALIDATION_ERROR", "endpoint: push endpoints must be https URLs");
    }
    if (!this.allowedEndpoint(input.endpoint)) {
      throw new AppError(
        "VALIDATION_ERROR",
        "endpoint: not a push service this server sends to (PUSH_ENDPOINT_HOSTS)",
      );
    }
    const subscription: StoredSubscription = {
      endpoint: input.endpoint,
      keys: { p256dh: input.keys.p256dh, auth: input.keys.auth },
      userId,
      createdAt: new Date().toISOString(),
      expirationTime: input.expirationTime ?? null,
    };
    await this.subscriptions.save(subscription);
    return subscription;
  }

  unsubscribe(userId: string, endpoint: string): Promise<boolean> {
    return this.subscriptions.remove(endpoint, userId);
  }

  /** Queues one request per subscription of the user; resolves once they are stored. */
  async notify(userId: string, notification: PushNotification): Promise<void> {
    const entries: NewOutboxEntry[] = [];
    for (const subscription of await this.subscriptions.listForUser(userId)) {
      const expired = subscription.expirationTime !== null &&
        subscription.expirationTime < Date.now();
      // Stored before PUSH_ENDPOINT_HOSTS was narrowed: never contacted again.
      if (expired || !this.allowedEndpoint(subscription.endpoint)) {
        await this.subscriptions.remove(subscription.endpoint);
        continue;
      }
      const payload: WebPushEntry = { subscription, notification };
      entries.push({
        id: `webpush:${notification.messageId}:${await endpointId(subscription.endpoint)}`,
        channel: "webpush",
        payload: JSON.stringify(payload),
      });
    }
    await this.enqueue(entries);
  }

  /** The outbox channel that sends the entries `notify` queues. */
  channel(retry: Omit<OutboxChannel, "attempt">): OutboxChannel {
    return {
      ...retry,
      attempt: (payload, { signal }) => {
        const { subscription, notification } = JSON.parse(payload) as WebPushEntry;
        return this.deliver(subscription, JSON.stringify(notification), signal);
      },
    };
  }

  private allowedEndpoint(endpoint: string): boolean {
    const host = new URL(endpoint).hostname.toLowerCase();
    return this.options.endpointHosts.some((allowed) =>
      allowed.startsWith("*.") ? host.endsWith(allowed.slice(1)) : host === allowed
    );
  }

  private async deliver(
    subscription: StoredSubscription,
    payload: string,
    signal: AbortSignal,
  ): Promise<AttemptOutcome> {
    // Built anew for each attempt: a fresh VAPID JWT and a fresh encryption.
    const request = webpush.generateRequestDetails(subscription, payload, {
      vapidDetails: this.options.vapid,
      TTL: this.options.ttlSeconds ?? 86_400,
      urgency: "high",
      contentEncoding: "aes128gcm",
    });
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(request.headers)) {
      if (name.toLowerCase() !== "content-length") headers[name] = String(value);
    }
    const response = await post(
      request.endpoint,
      { headers, body: new Uint8Array(request.body ?? []) },
      this.options.timeoutMs ?? 10_000,
      signal,
    );
    if (response.status === 404 || response.status === 410) {
      await this.subscriptions.remove(subscription.endpoint);
      this.log.info("push subscription expired, removed", { userId: subscription.userId });
      return { status: "done" };
    }
    return outcomeOf(response);
  }
}

/** A new VAPID key pair (base64url), e.g. for `VAPID_PUBLIC_KEY` and `VAPID_PRIVATE_KEY`. */
export function generateVapidKeys(): { publicKey: string; privateKey: string } {
  return webpush.generateVAPIDKeys();
}
