/**
 * The events webhook (EVENTS_WEBHOOK_URL) against a real receiver on
 * loopback that checks the HMAC on its own (tests/helpers/push_receivers.ts):
 * each event signed with its body, retries under one delivery id,
 * Retry-After, and the durable outbox through a kill -9.
 */
import type { ChatMessage } from "../src/protocol/types.ts";
import { assert, assertEquals } from "./helpers/assert.ts";
import { waitFor } from "./helpers/events.ts";
import { spawnServer } from "./helpers/child_server.ts";
import { send } from "./helpers/messages.ts";
import { startWebhookReceiver, type WebhookRequest } from "./helpers/push_receivers.ts";
import {
  type ChatClient,
  clientList,
  connectClient,
  disconnectAll,
  signToken,
  startTestServer,
  TEST_STORE,
} from "./helpers/server.ts";
import { tempDir } from "./helpers/temp_dir.ts";

const SECRET = "events-secret-that-is-32-characters-or-more";
/** Fast retries: 20 ms, 40 ms, 80 ms … */
const FAST_RETRIES = { PUSH_RETRY_BASE_MS: "20", PUSH_MAX_ATTEMPTS: "6" };

/** A server's settings for events signed with SECRET to `url`, retried fast. */
const webhookTo = (url: string) => ({
  EVENTS_WEBHOOK_URL: url,
  EVENTS_WEBHOOK_SECRET: SECRET,
  ...FAST_RETRIES,
});

interface Delivered {
  id: string;
  event: string;
  data: Record<string, unknown>;
  time: string;
  attempt: number;
}

function delivered(request: WebhookRequest): Delivered {
  const body = JSON.parse(request.body);
  assertEquals(Object.keys(body).sort(), ["data", "event", "time"]);
  assertEquals(request.headers.get("x-parley-event"), body.event);
  return {
    id: request.headers.get("x-parley-delivery")!,
    event: body.event,
    data: body.data,
    time: body.time,
    attempt: Number(request.headers.get("x-parley-attempt")),
  };
}

function sendWithId(
  client: ChatClient,
  receiverId: string,
  text: string,
  clientMessageId: string,
): Promise<ChatMessage> {
  return send(client, receiverId, text, { clientMessageId });
}

Deno.test("events webhook: each event arrives once, signed, with {event, data, time}", async () => {
  await using hooks = await startWebhookReceiver(SECRET);
  await using server = await startTestServer(webhookTo(hooks.url));
  const events = () => hooks.requests.map(delivered);
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  await waitFor(() => events().filter((e) => e.event === "user.online").length === 2, "online");

  const message = await sendWithId(alice, "bob", "hello bob", "c-1");
  // A client's resend with the same clientMessageId: the same message, no second event.
  const resent = await sendWithId(alice, "bob", "hello bob", "c-1");
  assertEquals(resent._id, message._id);
  const receipt = await bob.timeout(3000).emitWithAck("messageRead", { messageId: message._id });
  assert(receipt.ok, JSON.stringify(receipt));
  // A repeat changes nothing, and sends nothing.
  await bob.timeout(3000).emitWithAck("messageRead", { messageId: message._id });
  const deleted = await server.api("alice", `/api/chats/${message._id}`, { method: "DELETE" });
  assertEquals(deleted.status, 200);
  await disconnectAll([bob]);

  await waitFor(() => events().some((e) => e.event === "user.offline"), "bob offline");
  await waitFor(() => events().some((e) => e.event === "message.deleted"), "the delete");
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert(hooks.requests.every((r) => r.signatureValid), "every call signed with the secret");
  const all = events();
  const ids = all.map((e) => e.id);
  assertEquals(new Set(ids).size, ids.length, `one call per event: ${ids.join(", ")}`);
  const byEvent = (name: string) => all.filter((e) => e.event === name);

  assertEquals(byEvent("user.online").map((e) => e.data.userId).sort(), ["alice", "bob"]);
  for (const e of byEvent("user.online")) {
    assertEquals(e.id, `user.online:${e.data.userId}:${e.data.lastSeen}`);
    assertEquals(e.time, e.data.lastSeen);
  }
  const [created, ...moreCreated] = byEvent("message.created");
  assertEquals(moreCreated, [], "the resend made no second message.created");
  assertEquals(created?.id, `message.created:${message._id}`);
  assertEquals(created?.data, message as unknown as Record<string, unknown>);
  assertEquals(created?.time, message.createdAt);

  const [read, ...moreRead] = byEvent("message.read");
  assertEquals(moreRead, []);
  assertEquals(read?.id, `message.read:${message._id}`);
  assertEquals(read?.data, {
    messageId: message._id,
    senderId: "alice",
    receiverId: "bob",
    readAt: receipt.ok ? receipt.readAt : null,
  });

  const [gone] = byEvent("message.deleted");
  assertEquals(gone?.id, `message.deleted:${message._id}`);
  assertEquals(gone?.data, {
    messageId: message._id,
    senderId: "alice",
    receiverId: "bob",
    groupId: null,
    deletedAt: gone?.time,
  });

  const [offline, ...moreOffline] = byEvent("user.offline");
  assertEquals(moreOffline, [], "alice is still connected");
  assertEquals(offline?.data.userId, "bob");
  assertEquals(offline?.id, `user.offline:bob:${offline?.data.lastSeen}`);
  assertEquals(all.length, 6);
  assert(all.every((e) => e.attempt === 1));
});

Deno.test("events webhook: message.edited and message.reported, once each", async () => {
  await using hooks = await startWebhookReceiver(SECRET);
  await using server = await startTestServer(webhookTo(hooks.url));
  const events = () => hooks.requests.map(delivered);
  const alice = await server.connect("alice");
  const message = await sendWithId(alice, "bob", "helo", "e-1");
  const edit = await alice.timeout(3000).emitWithAck("editMessage", {
    messageId: message._id,
    text: "hello",
  });
  assert(edit.ok, JSON.stringify(edit));
  const report = (body: unknown) =>
    server.api("bob", `/api/chats/${message._id}/report`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const first = await report({ reason: "spam" });
  assertEquals(first.status, 201);
  const filed = await first.json();
  // The same report again: answered with the first one, and no second event.
  assertEquals((await report({ reason: "spam" })).status, 200);
  await waitFor(() => events().some((e) => e.event === "message.reported"), "the report");
  await new Promise((resolve) => setTimeout(resolve, 300));

  const [edited, ...moreEdited] = events().filter((e) => e.event === "message.edited");
  assertEquals(moreEdited, []);
  assertEquals(edited?.data, edit.ok ? edit.message as unknown as Record<string, unknown> : null);
  assertEquals(edited?.id, `message.edited:${message._id}:${edited?.data.editedAt}`);
  assertEquals(edited?.data.text, "hello");
  const reported = events().filter((e) => e.event === "message.reported");
  assertEquals(reported.map((e) => [e.id, e.data]), [[`message.reported:${filed._id}`, filed]]);
  assert(hooks.requests.every((r) => r.signatureValid));
});

Deno.test("events webhook: a 503 is retried under the same delivery id; Retry-After is honoured", async (t) => {
  await using hooks = await startWebhookReceiver(SECRET);
  await using server = await startTestServer(webhookTo(hooks.url));
  const alice = await server.connect("alice");
  await waitFor(() => hooks.requests.length === 1, "alice's user.online");

  await t.step(
    "503, then 200: the second attempt, same id, soon (backoff from 20 ms)",
    async () => {
      hooks.requests.length = 0;
      const times: number[] = [];
      const timed = hooks.requests.push.bind(hooks.requests);
      hooks.requests.push = (...items) => (times.push(Date.now()), timed(...items));
      hooks.respondWith.push(503);
      const message = await sendWithId(alice, "bob", "one", "r-1");
      await waitFor(() => hooks.requests.length === 2, "the retry");
      const [first, second] = hooks.requests.map(delivered) as [Delivered, Delivered];
      assertEquals([first.id, second.id], [`message.created:${message._id}`, first.id]);
      assertEquals([first.attempt, second.attempt], [1, 2]);
      assertEquals(hooks.requests[0]!.body, hooks.requests[1]!.body, "the same body, signed anew");
      assert(times[1]! - times[0]! < 900, `retried after ${times[1]! - times[0]!} ms`);
    },
  );

  await t.step("503 with Retry-After: 2: the retry waits 2 s, not the 20 ms backoff", async () => {
    hooks.requests.length = 0;
    const times: number[] = [];
    const timed = hooks.requests.push.bind(hooks.requests);
    hooks.requests.push = (...items) => (times.push(Date.now()), timed(...items));
    hooks.respondWith.push(503);
    hooks.responseHeaders.push({ "retry-after": "2" });
    await sendWithId(alice, "bob", "two", "r-2");
    await waitFor(() => hooks.requests.length === 2, "the retry", 5000);
    const waited = times[1]! - times[0]!;
    assert(waited >= 1950 && waited < 3500, `retried after ${waited} ms`);
    const [first, second] = hooks.requests.map(delivered) as [Delivered, Delivered];
    assertEquals(second.id, first.id);
  });
});

Deno.test({
  name: "events webhook: events pending when the server is killed -9 arrive after the restart",
  // A child process on a SQLite file: the store the restart finds again.
  ignore: TEST_STORE !== "sqlite",
  async fn() {
    await using dir = await tempDir("parley-events-");
    // The receiver's port, reserved and closed again: the receiver is down while events happen.
    const port = await (async () => {
      const probe = await startWebhookReceiver(SECRET);
      const url = new URL(probe.url);
      await probe.close();
      return Number(url.port);
    })();
    const env = {
      SQLITE_PATH: `${dir.path}/parley.db`,
      EVENTS_WEBHOOK_URL: `http://127.0.0.1:${port}/hooks/parley`,
      EVENTS_WEBHOOK_SECRET: SECRET,
      // Each first attempt fails at once (connection refused), the retries wait about 1 s: the
      // kill finds no attempt under way, whose entry would wait for its lease (30 s) to end.
      PUSH_RETRY_BASE_MS: "1000",
      PUSH_MAX_ATTEMPTS: "20",
    };
    const expected = new Set<string>();
    {
      await using crashed = await spawnServer(env);
      await using clients = clientList();
      const alice = await connectClient(crashed.url, { token: await signToken("alice") });
      const bob = await connectClient(crashed.url, { token: await signToken("bob") });
      clients.push(alice, bob);
      for (let n = 0; n < 10; n++) {
        const message = await sendWithId(alice, "bob", `message ${n}`, `k-${n}`);
        expected.add(`message.created:${message._id}`);
        if (n % 3 === 0) {
          await bob.timeout(3000).emitWithAck("messageRead", { messageId: message._id });
          expected.add(`message.read:${message._id}`);
        }
      }
      // Each attempted once against the closed port meanwhile, the attempt counted in the store.
      await new Promise((resolve) => setTimeout(resolve, 300));
      crashed.process.kill("SIGKILL");
      await crashed.process.status;
    }
    assertEquals(expected.size, 14);
    await using hooks = await startWebhookReceiver(SECRET, port);
    await using _restarted = await spawnServer(env);
    const ids = () => new Set(hooks.requests.map((r) => r.headers.get("x-parley-delivery")!));
    // 40 s: should an attempt have been under way after all, its entry waits for its lease.
    await waitFor(() => [...expected].every((id) => ids().has(id)), "every event", 40_000);
    assert(hooks.requests.every((r) => r.signatureValid));
    const missing = [...expected].filter((id) => !ids().has(id));
    assertEquals(missing, []);
    // Both users' user.online came before the kill too; nothing else is expected.
    const others = [...ids()].filter((id) => !expected.has(id));
    assert(
      others.every((id) => id.startsWith("user.online:")),
      `unexpected events: ${others.join(", ")}`,
    );
    const retried = hooks.requests.map(delivered).filter((e) => e.attempt > 1);
    assert(retried.length > 0, "attempts before the kill were counted and kept");
  },
});
