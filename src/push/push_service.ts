/**
 * Notifications for messages to users with no connected socket, through the
 * channels that are configured (a signed webhook, Web Push, both or none),
 * and the events webhook (events.ts). Plugged into the chat's send as a `sent`
 * hook: it returns at once, and the work (the connection check, profile
 * reads) happens off the send path; what is to be sent goes into the outbox,
 * whose dispatcher makes the HTTP calls and retries (outbox_dispatcher.ts).
 */
import type { PushConfig } from "../config.ts";
import type { MessageHooks } from "../chat/message_hooks.ts";
import { errorFields, type Logger } from "../log.ts";
import type { ChatMessage } from "../protocol/types.ts";
import type { MuteRepository, UserRepository } from "../store/repository.ts";
import type { OutboxStore } from "../store/outbox_store.ts";
import type { SubscriptionStore } from "../store/subscription_store.ts";
import { ChatEvents, EVENTS_CHANNEL } from "./events.ts";
import { type OutboxChannel, OutboxDispatcher } from "./outbox_dispatcher.ts";
import { type PushNotification, WebPushSender } from "./web_push_sender.ts";
import { SignedWebhook, type WebhookEvent } from "./webhook_sender.ts";

/** Longest text put into a Web Push notification (payloads are limited to about 4 KB). */
export const MAX_PUSH_TEXT = 1000;
/** Longest wait between two attempts of a notification. */
const PUSH_MAX_DELAY_MS = 300_000;
/** Longest wait between two attempts of an event (issue 17: capped at 30 s). */
const EVENTS_MAX_DELAY_MS = 30_000;

export interface PushDeps {
  /**
   * True while the user has a connected socket (server.ts asks Socket.IO's
   * adapter, so with several nodes every node's sockets count). A failure
   * counts as "not connected": better one notification too many than none.
   */
  isConnected(userId: string): boolean | Promise<boolean>;
  users: UserRepository;
  /** A receiver who muted the conversation with the sender gets no notification of it. */
  mutes?: MuteRepository;
  log: Logger;
}

export class PushService implements MessageHooks {
  private readonly dispatching = new Set<Promise<void>>();

  constructor(
    private readonly deps: PushDeps,
    private readonly outbox: OutboxDispatcher,
    private readonly channels: { webhook: boolean; webPush?: WebPushSender },
    private readonly includeText: boolean,
    /** The events webhook's port and hooks (they do nothing when it is not configured). */
    readonly events: ChatEvents,
  ) {}

  /** The Web Push channel, when VAPID keys are configured (it also manages subscriptions). */
  get webPush(): WebPushSender | undefined {
    return this.channels.webPush;
  }

  sent(message: ChatMessage): void {
    const { webhook, webPush } = this.channels;
    if (!webhook && !webPush) return;
    const work = this.dispatch(message).catch((err) =>
      this.deps.log.error("push dispatch failed", { messageId: message._id, ...errorFields(err) })
    );
    this.dispatching.add(work);
    work.finally(() => this.dispatching.delete(work));
  }

  /**
   * Lets notifications being prepared reach the outbox, then closes the
   * dispatcher: what is not delivered stays in the store for the next start.
   */
  async close(graceMs?: number): Promise<void> {
    await Promise.allSettled([...this.dispatching]);
    await this.outbox.close(graceMs);
  }

  private async dispatch(message: ChatMessage): Promise<void> {
    const connected = await Promise.resolve()
      .then(() => this.deps.isConnected(message.receiverId))
      .catch((err) => {
        this.deps.log.warn("connection check failed", errorFields(err));
        return false;
      });
    if (connected) return;
    const muted = await this.deps.mutes?.isMuted(
      message.receiverId,
      message.senderId,
      new Date().toISOString(),
    );
    if (muted) return;
    const users = await this.deps.users.getMany([message.senderId, message.receiverId]);
    const receiver = users.get(message.receiverId);
    if (this.channels.webhook) {
      const body: WebhookEvent = {
        event: "message",
        message,
        receiver: {
          _id: message.receiverId,
          username: receiver?.username ?? null,
          email: receiver?.email ?? null,
        },
      };
      await this.outbox.enqueue([
        { id: crypto.randomUUID(), channel: "webhook", payload: JSON.stringify(body) },
      ]);
    }
    if (this.channels.webPush) {
      const notification: PushNotification = {
        type: "message",
        messageId: message._id,
        senderId: message.senderId,
        senderName: users.get(message.senderId)?.username ?? null,
        createdAt: message.createdAt,
        attachment: message.file?.type ?? null,
      };
      if (this.includeText && message.text) notification.text = cut(message.text, MAX_PUSH_TEXT);
      await this.channels.webPush.notify(message.receiverId, notification);
    }
  }
}

/**
 * Builds the configured channels over one outbox dispatcher and starts it
 * (when any channel is configured); Web Push keeps its subscriptions in
 * `stores.subscriptions`.
 */
export function createPushService(
  config: PushConfig,
  stores: { subscriptions: SubscriptionStore; outbox: OutboxStore },
  deps: PushDeps,
): PushService {
  const channels: Record<string, OutboxChannel> = {};
  const outbox = new OutboxDispatcher(stores.outbox, channels, deps.log);
  const enqueue = outbox.enqueue.bind(outbox);
  const pushRetry = {
    maxAttempts: config.maxAttempts,
    baseDelayMs: config.retryBaseMs,
    maxDelayMs: PUSH_MAX_DELAY_MS,
  };
  if (config.webhook) channels.webhook = new SignedWebhook(config.webhook).channel(pushRetry);
  const webPush = config.webPush
    ? new WebPushSender(
      {
        vapid: config.webPush,
        allowInsecureEndpoints: config.allowInsecureEndpoints,
        endpointHosts: config.endpointHosts,
      },
      stores.subscriptions,
      enqueue,
      deps.log,
    )
    : undefined;
  if (webPush) channels.webpush = webPush.channel(pushRetry);
  if (config.events) {
    channels[EVENTS_CHANNEL] = new SignedWebhook(config.events).channel({
      ...pushRetry,
      maxDelayMs: EVENTS_MAX_DELAY_MS,
    });
  }
  const events = new ChatEvents(config.events ? enqueue : undefined, deps.log);
  if (Object.keys(channels).length > 0) outbox.start();
  return new PushService(
    deps,
    outbox,
    { webhook: config.webhook !== undefined, webPush },
    config.includeText,
    events,
  );
}

/** At most `max` characters, never splitting a surrogate pair, with an ellipsis when cut. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}…`;
}
