/**
 * Sends messages to sockets with an acknowledgement, live and on (re)connect.
 *
 * Each `receiveMessage` goes to one socket at a time with an ack callback and a
 * timeout; any call of the callback counts as delivered. A socket is never
 * sent the same message twice by this process, whichever path (live or
 * catch-up) got there first. Socket.IO's connection state recovery replays
 * room broadcasts only, and `receiveMessage` is never a room broadcast, so
 * the two mechanisms cannot both deliver one message to one socket.
 */
import type { ChatMessage } from "../protocol/types.ts";
import { errorFields, type Logger } from "../log.ts";
import { type ParleyServer, type ParleySocket, userRoom } from "./io.ts";

export interface DeliveryPort {
  acknowledged(receiverId: string, messageId: string): Promise<void>;
  pending(receiverId: string, limit: number, after?: string): Promise<ChatMessage[]>;
}

export interface DeliveryOptions {
  /** How long a device has to acknowledge a `receiveMessage`. */
  ackTimeoutMs: number;
  /** Messages read from the store per catch-up page. */
  catchUpPageSize: number;
}

export class MessageDelivery {
  /** Ids sent to each socket and not yet acknowledged by it. */
  private readonly sent = new WeakMap<ParleySocket, Set<string>>();

  constructor(
    private readonly io: ParleyServer,
    private readonly port: DeliveryPort,
    private readonly options: DeliveryOptions,
    private readonly log: Logger,
  ) {}

  /** Live delivery to every socket of the receiver connected to this process. */
  deliver(receiverId: string, message: ChatMessage): void {
    const socketIds = this.io.sockets.adapter.rooms.get(userRoom(receiverId));
    for (const socketId of socketIds ?? []) {
      const socket = this.io.sockets.sockets.get(socketId);
      if (socket) this.sendTo(socket, message);
    }
  }

  /** Sends a connecting socket everything addressed to its user and not yet delivered. */
  async catchUp(socket: ParleySocket): Promise<void> {
    const { userId } = socket.data;
    const { catchUpPageSize } = this.options;
    let after: string | undefined;
    try {
      while (socket.connected) {
        const page = await this.port.pending(userId, catchUpPageSize, after);
        for (const message of page) this.sendTo(socket, message);
        if (page.length < catchUpPageSize) return;
        after = page.at(-1)!._id;
      }
    } catch (err) {
      this.log.error("catch-up failed", { userId, ...errorFields(err) });
    }
  }

  private sendTo(socket: ParleySocket, message: ChatMessage): void {
    let sent = this.sent.get(socket);
    if (!sent) this.sent.set(socket, sent = new Set());
    if (sent.has(message._id)) return;
    sent.add(message._id);
    const { userId } = socket.data;
    socket.timeout(this.options.ackTimeoutMs).emit("receiveMessage", message, (err: unknown) => {
      // Unacknowledged: the message stays undelivered and comes back on the next connect.
      if (err) return;
      sent.delete(message._id);
      this.port.acknowledged(userId, message._id).catch((e) =>
        this.log.error("delivery receipt failed", { userId, ...errorFields(e) })
      );
    });
  }
}
