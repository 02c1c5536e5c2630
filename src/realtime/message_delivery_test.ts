/**
 * MessageDelivery's flow control on a real store (SQLite in memory). The
 * sockets are small in-process stand-ins for the part of Socket.IO it uses
 * (rooms, `timeout().emit()` with an ack callback, `disconnect`), so that a
 * test decides when each ack arrives; tests/flow_control_test.ts and
 * tests/delivery_test.ts run the same paths over a real port.
 */
import type { ChatMessage } from "../protocol/types.ts";
import { createLogger } from "../log.ts";
import type { ChatStore } from "../store/repository.ts";
import { assertEquals } from "../../tests/helpers/assert.ts";
import { waitFor } from "../../tests/helpers/events.ts";
import { memoryBackend } from "../../tests/helpers/memory_backend.ts";
import { type ParleyServer, type ParleySocket, userRoom } from "./io.ts";
import { type DeliveryOptions, type DeliveryPort, MessageDelivery } from "./message_delivery.ts";

/** One `receiveMessage` sent, and its ack callback (`err` set: timed out). */
interface Emitted {
  message: ChatMessage;
  ack(err?: Error): void;
}

class FakeSocket {
  connected = true;
  readonly data: { userId: string };
  /** Sent and not yet acknowledged, oldest first. */
  readonly emitted: Emitted[] = [];
  /** Texts acknowledged by `ackAll()`, in order. */
  readonly acked: (string | null)[] = [];
  private readonly onDisconnect: (() => void)[] = [];

  constructor(readonly id: string, userId: string) {
    this.data = { userId };
  }
  once(event: string, listener: () => void): void {
    if (event === "disconnect") this.onDisconnect.push(listener);
  }
  timeout(_ms: number) {
    return {
      emit: (_event: "receiveMessage", message: ChatMessage, ack: (err?: Error) => void) =>
        this.emitted.push({ message, ack }),
    };
  }
  disconnect(): void {
    this.connected = false;
    for (const listener of this.onDisconnect.splice(0)) listener();
  }
  /** Texts sent so far, in order. */
  texts(): (string | null)[] {
    return this.emitted.map((e) => e.message.text);
  }
  /** Acknowledges every message sent and not yet acknowledged, oldest first. */
  ackAll(): void {
    for (const e of this.emitted.splice(0)) {
      this.acked.push(e.message.text);
      e.ack();
    }
  }
}

/** Rooms and sockets by id: the part of `io.sockets` that delivery reads. */
function fakeIo(sockets: FakeSocket[]): ParleyServer {
  const rooms = new Map<string, Set<string>>();
  for (const s of sockets) {
    const room = userRoom(s.data.userId);
    rooms.set(room, (rooms.get(room) ?? new Set()).add(s.id));
  }
  const byId = new Map(sockets.map((s) => [s.id, s]));
  return { sockets: { adapter: { rooms }, sockets: byId } } as unknown as ParleyServer;
}

const asSocket = (s: FakeSocket) => s as unknown as ParleySocket;

/** Resolves as `work` does, or fails the test if it takes longer than `ms`. */
async function within(work: Promise<void>, what: string, ms = 3000): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not end within ${ms} ms`)), ms);
  });
  try {
    await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

interface Fixture extends AsyncDisposable {
  store: ChatStore;
  delivery: MessageDelivery;
  /** How many catch-up pages were read. */
  pageReads(): number;
  /** Stores a message to `receiverId` (as a send does, before delivering it). */
  stored(text: string, receiverId?: string): Promise<ChatMessage>;
}

async function fixture(sockets: FakeSocket[], options: Partial<DeliveryOptions> = {}) {
  const backend = await memoryBackend();
  const store = backend.chat;
  let reads = 0;
  const port: DeliveryPort = {
    async acknowledged(_receiverId, messageId) {
      await store.messages.markDelivered(messageId, new Date().toISOString());
    },
    pending(receiverId, limit, after) {
      reads++;
      return store.messages.undelivered(receiverId, { limit, after });
    },
  };
  const delivery = new MessageDelivery(
    fakeIo(sockets),
    port,
    { ackTimeoutMs: 10_000, catchUpPageSize: 50, maxUnacked: 100, ...options },
    createLogger("silent"),
  );
  const fixture: Fixture = {
    store,
    delivery,
    pageReads: () => reads,
    async stored(text, receiverId = "bob") {
      const draft = { senderId: "alice", receiverId, text, file: null, clientMessageId: null };
      return (await store.messages.insert(draft)).message;
    },
    [Symbol.asyncDispose]: () => backend[Symbol.asyncDispose](),
  };
  return fixture;
}

Deno.test("MessageDelivery.deliver() sends to every socket of the receiver; an ack stores the delivery", async () => {
  const tab1 = new FakeSocket("s1", "bob");
  const tab2 = new FakeSocket("s2", "bob");
  const carol = new FakeSocket("s3", "carol");
  await using f = await fixture([tab1, tab2, carol]);
  const message = await f.stored("hi");
  f.delivery.deliver("bob", message);
  assertEquals([tab1.texts(), tab2.texts(), carol.texts()], [["hi"], ["hi"], []]);

  tab1.ackAll();
  await waitFor(
    async () => (await f.store.messages.get(message._id))?.deliveredAt != null,
    "receipt",
  );
  assertEquals(await f.store.messages.undelivered("bob", { limit: 10 }), []);
});

Deno.test("MessageDelivery keeps at most maxUnacked in flight per socket, the rest queued in order", async () => {
  const bob = new FakeSocket("s1", "bob");
  await using f = await fixture([bob], { maxUnacked: 2 });
  for (const text of ["m1", "m2", "m3", "m4", "m5"]) {
    f.delivery.deliver("bob", await f.stored(text));
  }
  assertEquals(bob.texts(), ["m1", "m2"]);

  bob.emitted.shift()!.ack();
  assertEquals(bob.texts(), ["m2", "m3"], "one ack frees one slot");
  // A timeout frees its slot too, and leaves the message undelivered for the next connect.
  const timedOut = bob.emitted.shift()!;
  timedOut.ack(new Error("operation has timed out"));
  assertEquals(bob.texts(), ["m3", "m4"]);
  bob.ackAll();
  bob.ackAll();
  assertEquals(bob.acked, ["m3", "m4", "m5"]);
  await waitFor(
    async () => (await f.store.messages.undelivered("bob", { limit: 10 })).length === 1,
    "receipts",
  );
  const [left] = await f.store.messages.undelivered("bob", { limit: 10 });
  assertEquals(left?.text, "m2");
});

Deno.test("MessageDelivery never sends one socket the same message twice, live or caught up", async () => {
  const bob = new FakeSocket("s1", "bob");
  await using f = await fixture([bob]);
  const message = await f.stored("once");
  f.delivery.deliver("bob", message);
  f.delivery.deliver("bob", message);
  await f.delivery.catchUp(asSocket(bob));
  assertEquals(bob.texts(), ["once"]);
});

Deno.test("MessageDelivery.catchUp() reads the next page only once the socket's queue is out", async () => {
  const bob = new FakeSocket("s1", "bob");
  await using f = await fixture([bob], { maxUnacked: 2, catchUpPageSize: 3 });
  for (let i = 1; i <= 7; i++) await f.stored(`m${i}`);
  const done = f.delivery.catchUp(asSocket(bob));
  await waitFor(() => bob.emitted.length === 2, "the first page's window");
  assertEquals(bob.texts(), ["m1", "m2"]);
  await new Promise((resolve) => setTimeout(resolve, 20));
  assertEquals(f.pageReads(), 1, "m3 still queued: no second read");

  // Acknowledge whatever arrives, as a client does, until everything has.
  await waitFor(() => (bob.ackAll(), bob.acked.length >= 7), "all seven acknowledged");
  await within(done, "the catch-up");
  assertEquals(bob.acked, ["m1", "m2", "m3", "m4", "m5", "m6", "m7"]);
  assertEquals(f.pageReads(), 3, "pages of 3, 3 and 1");
});

Deno.test("MessageDelivery: live messages during a catch-up wait behind it, oldest first, none twice", async () => {
  const bob = new FakeSocket("s1", "bob");
  await using f = await fixture([bob], { maxUnacked: 1, catchUpPageSize: 2 });
  for (const text of ["old1", "old2", "old3"]) await f.stored(text);
  const done = f.delivery.catchUp(asSocket(bob));
  await waitFor(() => bob.emitted.length === 1, "the catch-up's first message");

  // Stored (so later pages of the catch-up can read them too) and delivered live meanwhile.
  f.delivery.deliver("bob", await f.stored("live1"));
  f.delivery.deliver("bob", await f.stored("live2"));
  assertEquals(bob.texts(), ["old1"], "live messages are deferred");

  // Acknowledge whatever arrives, as a client does, until everything has.
  await waitFor(() => (bob.ackAll(), bob.acked.length >= 5), "all five acknowledged");
  await within(done, "the catch-up");
  assertEquals(bob.acked, ["old1", "old2", "old3", "live1", "live2"]);
  assertEquals(bob.texts(), []);
});

Deno.test("MessageDelivery.catchUp() ends when the socket disconnects while it waits", async () => {
  const bob = new FakeSocket("s1", "bob");
  await using f = await fixture([bob], { maxUnacked: 1, catchUpPageSize: 2 });
  for (const text of ["m1", "m2", "m3"]) await f.stored(text);
  const done = f.delivery.catchUp(asSocket(bob));
  await waitFor(() => bob.emitted.length === 1, "first message");
  bob.disconnect();
  await within(done, "the catch-up after the disconnect");
  // A queued message is not sent to a socket that went away.
  bob.ackAll();
  assertEquals(bob.texts(), []);
});
