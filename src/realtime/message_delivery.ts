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
 *
 * Flow control: a socket has at most `maxUnacked` messages in flight (sent,
 * neither acknowledged nor timed out); the rest wait in its queue, in order.
 * A catch-up reads its next page from the store only once the queue is empty,
 * so a socket that never reads holds one page and its window, not the whole
 * backlog in its write buffer. Live messages that arrive during a catch-up
 * wait behind it: the socket gets its messages oldest first.
 */
import type { ChatMessage } from "../protocol/types.ts";
import { errorFields, type Logger } from "../log.ts";
import { type ParleyServer, type ParleySocket, userRoom } from "./io.ts";

export interface DeliveryPort {
  /** `groupId`: the message's group, when it is a group message. */
  acknowledged(receiverId: string, messageId: string, groupId?: string | null): Promise<void>;
  pending(receiverId: string, limit: number, after?: string): Promise<ChatMessage[]>;
}

export interface DeliveryOptions {
  /** How long a device has to acknowledge a `receiveMessage`. */
  ackTimeoutMs: number;
  /** Messages read from the store per catch-up page. */
  catchUpPageSize: number;
  /** `MAX_UNACKED_PER_SOCKET`: `receiveMessage`s in flight per socket. */
  maxUnacked: number;
}

/** What one socket has in flight and waiting. */
interface Flow {
  inFlight: number;
  queue: ChatMessage[];
  /** Wakes the catch-up waiting for the queue to drain. */
  drained?: () => void;
  /** Set while a catch-up runs: live messages wait in `deferred`, sent after it. */
  catchingUp: boolean;
  deferred: ChatMessage[];
}

/** Message ids remembered per socket (oldest forgotten first); more than a catch-up page. */
const SENT_MEMORY = 1000;
/** Live messages kept per socket while its catch-up runs. */
const MAX_DEFERRED = 1000;

export class MessageDelivery {
  /** Ids recently sent to each socket, in the order sent. */
  private readonly sent = new WeakMap<ParleySocket, Set<string>>();
  /** The catch-up running for each socket: a new one waits for it. */
  private readonly catchUps = new WeakMap<ParleySocket, Promise<void>>();
  private readonly flows = new WeakMap<ParleySocket, Flow>();

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
      if (!socket) continue;
      const flow = this.flowOf(socket);
      if (!flow.catchingUp) {
        this.sendTo(socket, message);
        continue;
      }
      flow.deferred.push(message);
      // The catch-up's later pages read these from the store too; only the newest few, stored
      // after its last read, need to be kept.
      if (flow.deferred.length > MAX_DEFERRED) flow.deferred.shift();
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
    const flow = this.flowOf(socket);
    flow.catchingUp = true;
    let after: string | undefined;
    try {
      while (socket.connected) {
        await this.drained(socket, flow);
        if (!socket.connected) return; // woken by the disconnect: no page to read for it
        const page = await this.port.pending(userId, catchUpPageSize, after);
        for (const message of page) this.sendTo(socket, message);
        if (page.length < catchUpPageSize) return;
        after = page.at(-1)!._id;
      }
    } catch (err) {
      this.log.error("catch-up failed", { userId, ...errorFields(err) });
    } finally {
      flow.catchingUp = false;
      // Newest last; those the catch-up read from the store are skipped as already sent.
      const deferred = flow.deferred.splice(0).sort((x, y) => (x._id < y._id ? -1 : 1));
      for (const message of deferred) this.sendTo(socket, message);
    }
  }

  private flowOf(socket: ParleySocket): Flow {
    let flow = this.flows.get(socket);
    if (!flow) {
      flow = { inFlight: 0, queue: [], catchingUp: false, deferred: [] };
      this.flows.set(socket, flow);
      // A socket that goes away wakes its catch-up, which then ends.
      socket.once("disconnect", () => flow!.drained?.());
    }
    return flow;
  }

  /** Resolves once the socket's queue is empty (or it disconnected). */
  private drained(socket: ParleySocket, flow: Flow): Promise<void> {
    if (flow.queue.length === 0 || !socket.connected) return Promise.resolve();
    return new Promise((resolve) => {
      flow.drained = () => {
        flow.drained = undefined;
        resolve();
      };
    });
  }

  private sendTo(socket: ParleySocket, message: ChatMessage): void {
    let sent = this.sent.get(socket);
    if (!sent) this.sent.set(socket, sent = new Set());
    if (sent.has(message._id)) return;
    sent.add(message._id);
    if (sent.size > SENT_MEMORY) sent.delete(sent.values().next().value!);
    const flow = this.flowOf(socket);
    if (flow.inFlight >= this.options.maxUnacked) {
      flow.queue.push(message);
      return;
    }
    this.emit(socket, flow, message);
  }

  private emit(socket: ParleySocket, flow: Flow, message: ChatMessage): void {
    const { userId } = socket.data;
    flow.inFlight++;
    socket.timeout(this.options.ackTimeoutMs).emit("receiveMessage", message, (err: unknown) => {
      flow.inFlight--;
      const next = flow.queue.shift();
      if (next && socket.connected) this.emit(socket, flow, next);
      if (flow.queue.length === 0) flow.drained?.();
      // Unacknowledged: the message stays undelivered and comes back on the next connect.
      if (err) return;
      this.port.acknowledged(userId, message._id, message.groupId).catch((e) =>
        this.log.error("delivery receipt failed", { userId, ...errorFields(e) })
      );
    });
  }
}
