/**
 * The events webhook (`EVENTS_WEBHOOK_URL`): what happens in the chat, for
 * the host app's backend, one signed `POST {event, data, time}` per event
 * (webhook_sender.ts). Each event is an outbox entry (outbox_dispatcher.ts),
 * stored before the action that caused it is answered where it can be
 * (`message.created` before the sender's ack), so a restart or a kill -9
 * loses none.
 *
 * An event's delivery id (`X-Parley-Delivery`) is derived from what it is
 * about wherever a retried client action could cause it twice (a resend with
 * the same `clientMessageId` is `message.created:<messageId>` again): the
 * outbox keeps one entry per id, and remembers finished ones, so the receiver
 * gets one event.
 */
import type { MessageHooks } from "../chat/message_hooks.ts";
import { errorFields, type Logger } from "../log.ts";
import type { ChatStore, Report, UserRepository } from "../store/repository.ts";
import type { NewOutboxEntry } from "../store/outbox_store.ts";

export const EVENT_NAMES = [
  "message.created",
  "message.edited",
  "message.deleted",
  "message.read",
  "message.reported",
  "user.online",
  "user.offline",
] as const;
export type EventName = typeof EVENT_NAMES[number];

/** The body of one events-webhook call. */
export interface EventBody {
  event: EventName;
  data: unknown;
  /** When it happened (ISO-8601), not when it was sent: the same in every retry. */
  time: string;
}

/**
 * Where the chat reports events. `emit` resolves once the event is stored (it
 * then survives a crash); it does nothing while no events webhook is configured.
 */
export interface EventsPort {
  emit(event: EventName, data: unknown, deliveryId: string, time?: string): Promise<void>;
}

/** The outbox channel of the events webhook. */
export const EVENTS_CHANNEL = "events";

export class ChatEvents implements EventsPort {
  /**
   * @param enqueue stores outbox entries (OutboxDispatcher.enqueue); undefined
   *   when no events webhook is configured.
   */
  constructor(
    private readonly enqueue: ((entries: NewOutboxEntry[]) => Promise<void>) | undefined,
    private readonly log: Logger,
  ) {}

  async emit(
    event: EventName,
    data: unknown,
    deliveryId: string,
    time = new Date().toISOString(),
  ): Promise<void> {
    if (!this.enqueue) return;
    const body: EventBody = { event, data, time };
    await this.enqueue([{
      id: deliveryId,
      channel: EVENTS_CHANNEL,
      payload: JSON.stringify(body),
    }]);
  }

  /** The chat's hooks that emit the message events (combined with the others in server.ts). */
  get hooks(): MessageHooks {
    if (!this.enqueue) return {};
    return {
      // Before the sender's ack, also for a duplicate send: the id makes a repeat a no-op.
      stored: (message) =>
        this.emit("message.created", message, `message.created:${message._id}`, message.createdAt),
      read: (message) =>
        this.emit(
          "message.read",
          {
            messageId: message._id,
            senderId: message.senderId,
            receiverId: message.receiverId,
            readAt: message.readAt,
          },
          `message.read:${message._id}`,
          message.readAt ?? undefined,
        ),
      deleted: async (message) => {
        const deletedAt = new Date().toISOString();
        // The message is gone already: a failure here is logged, never thrown (message_hooks.ts).
        await this.emit(
          "message.deleted",
          {
            messageId: message._id,
            senderId: message.senderId,
            receiverId: message.receiverId,
            groupId: message.groupId ?? null,
            deletedAt,
          },
          `message.deleted:${message._id}`,
          deletedAt,
        ).catch((err) =>
          this.log.error("message.deleted event not stored", {
            messageId: message._id,
            ...errorFields(err),
          })
        );
      },
      edited: (message) =>
        this.emit(
          "message.edited",
          message,
          `message.edited:${message._id}:${message.editedAt}`,
          message.editedAt ?? undefined,
        ),
      reported: (report: Report) =>
        this.emit("message.reported", report, `message.reported:${report._id}`, report.createdAt),
    };
  }

  /**
   * `store` with every presence change also emitted (`user.online`,
   * `user.offline`): presence (src/chat/presence.ts, and the cluster's) stores
   * each change once, where the first socket connects and where the grace
   * period after the last one ends, and announces it only then.
   */
  withPresenceEvents(store: ChatStore): ChatStore {
    if (!this.enqueue) return store;
    const users = store.users;
    const setPresence: UserRepository["setPresence"] = async (userId, isOnline, lastSeen) => {
      await users.setPresence(userId, isOnline, lastSeen);
      const event = isOnline ? "user.online" : "user.offline";
      await this.emit(event, { userId, lastSeen }, `${event}:${userId}:${lastSeen}`, lastSeen);
    };
    return {
      ...store,
      users: Object.assign(Object.create(users) as UserRepository, { setPresence }),
    };
  }
}
