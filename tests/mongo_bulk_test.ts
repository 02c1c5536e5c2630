/**
 * A real Parley on MongoDB with 100 conversations answering at the same
 * moment: one send batch then updates some 200 existing conversation rows.
 * FerretDB 1.24 never answers an update command of 100 updates of existing
 * documents, and then stops answering that database at all
 * (src/store/mongo/ferretdb.ts), so the backend must cut every bulk command to
 * MAX_BULK_OPS. Unbounded, the second exchange's sends were answered
 * STORE_UNAVAILABLE after the driver's socket timeout, and every read after
 * them too.
 */
import type { AckResult, ChatMessage } from "../src/protocol/types.ts";
import { assertEquals } from "./helpers/assert.ts";
import { type ChatClient, delay, MONGODB_URI, startTestServer } from "./helpers/server.ts";

if (!MONGODB_URI) {
  console.warn(
    "SKIPPED: MongoDB bulk-command test (MONGODB_URI is not set; run scripts/mongo-test-server.sh start)",
  );
}

const PAIRS = 100;
/** Longer than the driver's socket timeout (5 s): a hung command answers STORE_UNAVAILABLE first. */
const ACK_TIMEOUT_MS = 30_000;
/** How long the delivery receipts of an exchange may take (FerretDB: ~20 ms each, one at a time). */
const RECEIPTS_TIMEOUT_MS = 20_000;
/** Connections opened at once while the clients connect. */
const CONNECTING_AT_ONCE = 20;

type SendAck = AckResult<{ message: ChatMessage; duplicate?: true }>;

Deno.test({
  name: "MongoDB: 100 pairs of users sending both ways at the same moment all get ok acks, " +
    "and reads still answer",
  ignore: !MONGODB_URI,
  // The MongoDB driver keeps pooled sockets past close() (as in the store contract).
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using server = await startTestServer({
      MONGODB_URI: MONGODB_URI!,
      MONGODB_DB: `parley_bulk_${Date.now()}`,
    });
    const users = Array.from({ length: 2 * PAIRS }, (_, i) => `bulk${i}`);
    const partnerOf = (i: number) => users[i ^ 1]!;
    const clients: ChatClient[] = [];
    for (let i = 0; i < users.length; i += CONNECTING_AT_ONCE) {
      const some = users.slice(i, i + CONNECTING_AT_ONCE);
      clients.push(...await Promise.all(some.map((user) => server.connect(user))));
    }
    // Receivers confirm what they get, as real clients do; senders count the receipts.
    let receipts = 0;
    for (const client of clients) {
      client.on("receiveMessage", (_message, ack) => ack());
      client.on("messageDelivered", () => receipts++);
    }

    /** Every client sends once to its partner, all in the same tick; the failures, by user. */
    const exchange = async (round: number): Promise<string[]> => {
      const acks = await Promise.all(
        clients.map((client, i) =>
          client.timeout(ACK_TIMEOUT_MS).emitWithAck("sendMessage", {
            receiverId: partnerOf(i),
            text: `${round} from ${users[i]}`,
            clientMessageId: `bulk-${round}-${i}`,
          }).catch((err: Error): SendAck | string => `no ack (${err.message})`)
        ),
      );
      return acks.flatMap((ack, i) => {
        if (typeof ack === "string") return [`${users[i]}: ${ack}`];
        if (!ack.ok) return [`${users[i]}: ${ack.code}`];
        const { senderId, receiverId } = ack.message;
        return senderId === users[i] && receiverId === partnerOf(i)
          ? []
          : [`${users[i]}: acked someone else's message`];
      });
    };
    /** Waits for the receipts of `count` messages (or a while): the store is idle again. */
    const receiptsOf = async (count: number) => {
      const until = Date.now() + RECEIPTS_TIMEOUT_MS;
      while (receipts < count && Date.now() < until) await delay(50);
    };
    const summary = (failures: string[]) =>
      `${failures.length} of ${clients.length} sends failed: ` +
      [...new Set(failures.map((f) => f.slice(f.indexOf(": ") + 2)))].join("; ");

    // The first exchange creates the 200 conversation rows (inserts: FerretDB copes).
    const first = await exchange(1);
    assertEquals(first.length, 0, summary(first));
    await receiptsOf(clients.length);
    // The second updates them all at once: the command FerretDB never answers unbounded.
    const second = await exchange(2);
    assertEquals(second.length, 0, summary(second));
    await receiptsOf(2 * clients.length);

    // The database still answers: the last pair's conversation row and history.
    const [a, b] = [users.at(-2)!, users.at(-1)!];
    const conversations = await server.api(a, "/api/chats/conversations");
    assertEquals(conversations.status, 200, await conversations.clone().text());
    const rows = (await conversations.json()) as { user: { _id: string }; unreadCount: number }[];
    assertEquals(rows.map((row) => [row.user._id, row.unreadCount]), [[b, 2]]);
    const history = await server.api(a, `/api/chats/history/${b}`);
    assertEquals(history.status, 200, await history.clone().text());
    const texts = ((await history.json()) as ChatMessage[]).map((m) => m.text).sort();
    assertEquals(texts, [`1 from ${a}`, `1 from ${b}`, `2 from ${a}`, `2 from ${b}`]);
  },
});
