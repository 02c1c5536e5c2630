/**
 * Many users at once: 20 upload a file and send it while 20 others send text,
 * on the test's store (SQLite, or MongoDB with TEST_STORE=mongo). Every
 * operation succeeds, every message is stored once and reaches its receiver,
 * and every receiver may download what was sent to them.
 */
import type { ChatMessage, FileAttachment } from "../src/protocol/types.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { waitFor } from "./helpers/events.ts";
import { PNG } from "./helpers/files.ts";
import { startTestServer } from "./helpers/server.ts";
import { tempDir } from "./helpers/temp_dir.ts";

const USERS = 20;

Deno.test({
  name: "20 users uploading and sending files while 20 send text: every operation succeeds",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    await using dir = await tempDir("parley-concurrent-");
    await using server = await startTestServer({ UPLOAD_DIR: dir.path });
    const filers = Array.from({ length: USERS }, (_, i) => `filer${i}`);
    const talkers = Array.from({ length: USERS }, (_, i) => `talker${i}`);
    const received = new Map<string, ChatMessage[]>();
    const clients = await Promise.all([...filers, ...talkers].map(async (user) => {
      const client = await server.connect(user);
      received.set(user, []);
      client.on("receiveMessage", (message, ack) => {
        received.get(user)!.push(message);
        ack?.();
      });
      return client;
    }));
    const partner = (i: number) => talkers[(i + 1) % USERS]!;

    const fileSends = filers.map(async (user, i) => {
      const res = await server.api(user, `/api/uploads?name=photo-${i}.png`, {
        method: "POST",
        headers: { "content-type": "image/png" },
        body: PNG,
      });
      const file = await res.json() as FileAttachment & { code?: string };
      assertEquals(res.status, 201, JSON.stringify(file));
      return await clients[i]!.timeout(10_000).emitWithAck("sendMessage", {
        receiverId: partner(i),
        file,
        clientMessageId: `file-${i}`,
      });
    });
    const textSends = talkers.flatMap((_, i) =>
      [0, 1].map((n) =>
        clients[USERS + i]!.timeout(10_000).emitWithAck("sendMessage", {
          receiverId: filers[i]!,
          text: `hello ${n}`,
          clientMessageId: `text-${i}-${n}`,
        })
      )
    );
    const acks = await Promise.all([...fileSends, ...textSends]);
    const failed = acks.filter((ack) => !ack.ok);
    assertEquals(failed, [], "every send succeeds");

    await waitFor(
      () => [...received.values()].reduce((n, list) => n + list.length, 0) === 3 * USERS,
      "every message delivered",
      10_000,
    );
    for (const [i, user] of filers.entries()) {
      const history = await (await server.api(user, `/api/chats/history/${partner(i)}`)).json();
      const files = (history as ChatMessage[]).filter((m) => m.file !== null);
      assertEquals(files.length, 1, `${user} sent one file, stored once`);
      const download = await server.api(partner(i), new URL(files[0]!.file!.url).pathname);
      assertEquals(download.status, 200, "the receiver may download it");
      assertEquals(new Uint8Array(await download.arrayBuffer()), PNG);
      assert(received.get(user)!.length === 2, `${user} got both texts`);
    }
  },
});
