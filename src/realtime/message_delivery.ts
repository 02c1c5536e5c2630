/**
 * Sends messages to sockets with an acknowledgement, live and on (re)connect.
 *
 * Each `receiveMessage` goes to one socket at a time with an ack callback and a
 * timeout; any call of the callback counts as delivered. A socket is never
 * sent the same message twice by this process, whichever path (live or
 * catch-up, which a cluster node also runs after a Redis outage) got there
 * first: each socket remembers the last `SENT_MEMORY` ids it was sent, also
 * once acknowledged, since a catch-up may read the store before the receipt
 * is written. Socket.IO's connection state recovery replays
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

/** Message ids remembered per socket (oldest forgotten first); more than a catch-up page. */
const SENT_MEMORY = 1000;

export class MessageDelivery {
  /** Ids recently sent to each socket, in the order sent. */
  private readonly sent = new WeakMap<ParleySocket, Set<string>>();
  /** The catch-up running for each socket: a new one waits for it. */
  private readonly catchUps = new WeakMap<ParleySocket, Promise<void>>();

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
  catchUp(socket: ParleySocket): Promise<void> {
    const run = (this.catchUps.get(socket) ?? Promise.resolve()).then(() => this.readPages(socket));
    this.catchUps.set(socket, run);
    return run;
  }

  private async readPages(socket: ParleySocket): Promise<void> {
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
    if (sent.size > SENT_MEMORY) sent.delete(sent.values().next().value!);
    const { userId } = socket.data;
    socket.timeout(this.options.ackTimeoutMs).emit("receiveMessage", message, (err: unknown) => {
      // Unacknowledged: the message stays undelivered and comes back on the next connect.
      if (err) return;
      this.port.acknowledged(userId, message._id).catch((e) =>
        this.log.error("delivery receipt failed", { userId, ...errorFields(e) })
      );
    });
  }
}
