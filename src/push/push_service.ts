/**
 * Notifications for messages to users with no connected socket, through the
 * channels that are configured (a signed webhook, Web Push, both or none).
 * Plugged into the chat's send as a `sent` hook: it returns at once, and the
 * work (the connection check, profile reads, HTTP calls, retries) happens off
 * the send path.
 */
import type { PushConfig } from "../config.ts";
import type { MessageHooks } from "../chat/message_hooks.ts";
import { errorFields, type Logger } from "../log.ts";
import type { ChatMessage } from "../protocol/types.ts";
import type { UserRepository } from "../store/repository.ts";
import { RetryQueue } from "./retry_queue.ts";
import type { SubscriptionStore } from "../store/subscription_store.ts";
import { type PushNotification, WebPushSender } from "./web_push_sender.ts";
import { WebhookSender } from "./webhook_sender.ts";

/** Longest text put into a Web Push notification (payloads are limited to about 4 KB). */
export const MAX_PUSH_TEXT = 1000;

export interface PushDeps {
  /**
   * True while the user has a connected socket (server.ts asks Socket.IO's
   * adapter, so with several nodes every node's sockets count). A failure
   * counts as "not connected": better one notification too many than none.
   */
  isConnected(userId: string): boolean | Promise<boolean>;
  users: UserRepository;
  log: Logger;
}

export class PushService implements MessageHooks {
  private readonly dispatching = new Set<Promise<void>>();

  constructor(
    private readonly deps: PushDeps,
    private readonly queue: RetryQueue,
    private readonly channels: { webhook?: WebhookSender; webPush?: WebPushSender },
    private readonly includeText: boolean,
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

  /** Lets queued work start, then closes the queue (see RetryQueue.close). */
  async close(graceMs?: number): Promise<void> {
    await Promise.allSettled([...this.dispatching]);
    await this.queue.close(graceMs);
  }

  private async dispatch(message: ChatMessage): Promise<void> {
    const connected = await Promise.resolve()
      .then(() => this.deps.isConnected(message.receiverId))
      .catch((err) => {
        this.deps.log.warn("connection check failed", errorFields(err));
        return false;
      });
    if (connected) return;
    const users = await this.deps.users.getMany([message.senderId, message.receiverId]);
    const receiver = users.get(message.receiverId);
    this.channels.webhook?.send({
      event: "message",
      message,
      receiver: {
        _id: message.receiverId,
        username: receiver?.username ?? null,
        email: receiver?.email ?? null,
      },
    });
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

/** Builds the configured channels; Web Push keeps its subscriptions in `subscriptions`. */
export function createPushService(
  config: PushConfig,
  subscriptions: SubscriptionStore,
  deps: PushDeps,
): PushService {
  const queue = new RetryQueue(
    { maxAttempts: config.maxAttempts, baseDelayMs: config.retryBaseMs },
    deps.log,
  );
  const webhook = config.webhook ? new WebhookSender(config.webhook, queue) : undefined;
  const webPush = config.webPush
    ? new WebPushSender(
      {
        vapid: config.webPush,
        allowInsecureEndpoints: config.allowInsecureEndpoints,
        endpointHosts: config.endpointHosts,
      },
      subscriptions,
      queue,
      deps.log,
    )
    : undefined;
  return new PushService(deps, queue, { webhook, webPush }, config.includeText);
}

/** At most `max` characters, never splitting a surrogate pair, with an ellipsis when cut. */
function cut(text: string, max: number): string {
  if (text.length <= max) return text;
  const chars = Array.from(text);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join("")}…`;
}
