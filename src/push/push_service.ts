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
import type { GroupRepository } from "../store/group_store.ts";
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
  /**
   * Which of these users have a connected socket, in one question (a group's
   * members); without it each is asked through `isConnected`.
   */
  connectedAmong?(userIds: readonly string[]): Promise<Set<string>>;
  users: UserRepository;
  /** A receiver who muted the conversation with the sender gets no notification of it. */
  mutes?: MuteRepository;
  /** A group message notifies its offline members who did not mute the group. */
  groups?: Pick<GroupRepository, "get" | "isMuted">;
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
    if (message.groupId) return await this.dispatchToGroup(message, message.groupId);
    const receiverId = message.receiverId;
    if (receiverId === null) return;
    const offline = await this.offlineAmong([receiverId]);
    if (offline.length === 0) return;
    const muted = await this.deps.mutes?.isMuted(
      receiverId,
      message.senderId,
      new Date().toISOString(),
    );
    if (muted) return;
    await this.notifyEach(message, [receiverId]);
  }

  /** Every member but the sender with no connected socket who does not mute the group. */
  private async dispatchToGroup(message: ChatMessage, groupId: string): Promise<void> {
    const { groups } = this.deps;
    const group = await groups?.get(groupId);
    if (!groups || !group) return;
    const offline = await this.offlineAmong(
      group.memberIds.filter((id) => id !== message.senderId),
    );
    const now = new Date().toISOString();
    const muted = await Promise.all(offline.map((id) => groups.isMuted(groupId, id, now)));
    const receivers = offline.filter((_, i) => !muted[i]);
    if (receivers.length > 0) {
      await this.notifyEach(message, receivers, { _id: group._id, name: group.name });
    }
  }

  /** Those of `userIds` with no connected socket; a failed check counts as not connected. */
  private async offlineAmong(userIds: readonly string[]): Promise<string[]> {
    const { connectedAmong, isConnected, log } = this.deps;
    const failed = (err: unknown) => {
      log.warn("connection check failed", errorFields(err));
      return undefined;
    };
    if (connectedAmong && userIds.length > 1) {
      const connected = await connectedAmong(userIds).catch(failed);
      return userIds.filter((id) => !connected?.has(id));
    }
    const connected = await Promise.all(
      userIds.map((id) => Promise.resolve().then(() => isConnected(id)).catch(failed)),
    );
    return userIds.filter((_, i) => !connected[i]);
  }

  /** One notification per receiver through each configured channel. */
  private async notifyEach(
    message: ChatMessage,
    receiverIds: readonly string[],
    group?: { _id: string; name: string },
  ): Promise<void> {
    const users = await this.deps.users.getMany([message.senderId, ...receiverIds]);
    if (this.channels.webhook) {
      await this.outbox.enqueue(receiverIds.map((receiverId) => {
        const receiver = users.get(receiverId);
        const body: WebhookEvent = {
          event: "message",
          message,
          receiver: {
            _id: receiverId,
            username: receiver?.username ?? null,
            email: receiver?.email ?? null,
          },
          ...(group && { group }),
        };
        return { id: crypto.randomUUID(), channel: "webhook", payload: JSON.stringify(body) };
      }));
    }
    const webPush = this.channels.webPush;
    if (webPush) {
      const notification: PushNotification = {
        type: "message",
        messageId: message._id,
        senderId: message.senderId,
        senderName: users.get(message.senderId)?.username ?? null,
        createdAt: message.createdAt,
        attachment: message.file?.type ?? null,
        ...(group && { group }),
      };
      if (this.includeText && message.text) notification.text = cut(message.text, MAX_PUSH_TEXT);
      for (const receiverId of receiverIds) await webPush.notify(receiverId, notification);
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
