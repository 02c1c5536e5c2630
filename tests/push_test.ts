/**
 * Push notifications against real receivers on loopback: a webhook receiver
 * that checks the HMAC, and a Web Push endpoint that checks the VAPID JWT and
 * decrypts the payload (tests/helpers/push_receivers.ts).
 */
import { loadConfig } from "../src/config.ts";
import { createLogger } from "../src/log.ts";
import {
  type AttemptContext,
  delayBefore,
  OutboxDispatcher,
} from "../src/push/outbox_dispatcher.ts";
import { openSqliteBackend } from "../src/store/sqlite/sqlite_backend.ts";
import { userRoom } from "../src/realtime/io.ts";
import { verifySignature } from "../src/push/webhook_sender.ts";
import { generateVapidKeys } from "../src/push/web_push_sender.ts";
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { settle, waitFor } from "./helpers/events.ts";
import {
  type BrowserKeys,
  browserKeys,
  type PushRequest,
  type Receiver,
  startPushService,
  startWebhookReceiver,
  type WebhookRequest,
} from "./helpers/push_receivers.ts";
import { startTestServer, type TestServer } from "./helpers/server.ts";
import { send } from "./helpers/messages.ts";
import { configError } from "./helpers/config.ts";
import { tempDir } from "./helpers/temp_dir.ts";

const WEBHOOK_SECRET = "webhook-secret-that-is-32-characters-or-more";
const VAPID = { ...generateVapidKeys(), subject: "mailto:ops@example.com" };
const VAPID_ENV = {
  VAPID_PUBLIC_KEY: VAPID.publicKey,
  VAPID_PRIVATE_KEY: VAPID.privateKey,
  VAPID_SUBJECT: VAPID.subject,
  PUSH_ALLOW_INSECURE_ENDPOINTS: "true",
  // The local push receiver, and the host of the endpoints only stored, never pushed to.
  PUSH_ENDPOINT_HOSTS: "127.0.0.1,push.example.com",
};
/** Fast retries: 20 ms, 40 ms, 80 ms … */
const FAST_RETRIES = { PUSH_RETRY_BASE_MS: "20", PUSH_MAX_ATTEMPTS: "4" };

function parsed(request: WebhookRequest) {
  return JSON.parse(request.body);
}

Deno.test("webhook: a message to a user with no socket is POSTed once, signed; none for a connected user", async () => {
  await using hooks = await startWebhookReceiver(WEBHOOK_SECRET);
  await using server = await startTestServer({
    PUSH_WEBHOOK_URL: hooks.url,
    PUSH_WEBHOOK_SECRET: WEBHOOK_SECRET,
  });
  const alice = await server.connect("alice");
  const message = await send(alice, "bob", "are you there?");
  await waitFor(() => hooks.requests.length === 1, "the webhook call");
  const [call] = hooks.requests as [WebhookRequest];
  assert(call.signatureValid, "HMAC signature checked by the receiver");
  assert(
    await verifySignature(WEBHOOK_SECRET, call.headers.get("x-parley-signature"), call.body),
  );
  assert(
    !await verifySignature("another-secret", call.headers.get("x-parley-signature"), call.body),
  );
  assertEquals(call.headers.get("content-type"), "application/json");
  assertEquals(call.headers.get("x-parley-event"), "message");
  assertEquals(call.headers.get("x-parley-attempt"), "1");
  assertMatch(call.headers.get("x-parley-delivery") ?? "", /^[0-9a-f-]{36}$/);
  assertEquals(parsed(call), {
    event: "message",
    message,
    receiver: { _id: "bob", username: null, email: null },
  });

  // Bob connects: messages to him go to his socket only.
  const bob = await server.connect("bob");
  await send(alice, "bob", "there you are");
  await settle(bob, 200);
  assertEquals(hooks.requests.length, 1);

  // Bob leaves again: notified again.
  bob.close();
  await waitFor(
    () => !server.parley.io.sockets.adapter.rooms.has(userRoom("bob")),
    "bob's socket to be gone from the server",
  );
  await send(alice, "bob", "gone again?");
  await waitFor(() => hooks.requests.length === 2, "a second webhook call");
});

Deno.test("webhook: failures are retried with backoff under one delivery id, and never hold up the send", async (t) => {
  await using hooks = await startWebhookReceiver(WEBHOOK_SECRET);
  await using server = await startTestServer({
    PUSH_WEBHOOK_URL: hooks.url,
    PUSH_WEBHOOK_SECRET: WEBHOOK_SECRET,
    ...FAST_RETRIES,
  });
  const alice = await server.connect("alice");

  await t.step(
    "a slow, failing receiver: the ack comes at once, the call succeeds on the third try",
    async () => {
      hooks.delays.push(1500);
      hooks.respondWith.push(503, 500);
      const started = performance.now();
      await send(alice, "bob", "hello");
      const ackMs = performance.now() - started;
      assert(ackMs < 500, `the send waited ${Math.round(ackMs)} ms for the webhook`);
      await waitFor(() => hooks.requests.length === 3, "three attempts", 5000);
      const ids = new Set(hooks.requests.map((r) => r.headers.get("x-parley-delivery")));
      assertEquals(ids.size, 1);
      assertEquals(hooks.requests.map((r) => r.headers.get("x-parley-attempt")), ["1", "2", "3"]);
      assert(hooks.requests.every((r) => r.signatureValid));
      // Each retry is signed anew (a fresh timestamp), over the same body.
      assertEquals(new Set(hooks.requests.map((r) => r.body)).size, 1);
    },
  );

  await t.step("a refusal (4xx other than 408/425/429) is not retried", async () => {
    hooks.requests.length = 0;
    hooks.respondWith.push(400);
    await send(alice, "bob", "again");
    await waitFor(() => hooks.requests.length === 1, "one attempt");
    await new Promise((resolve) => setTimeout(resolve, 200));
    assertEquals(hooks.requests.length, 1);
  });

  await t.step("it gives up after PUSH_MAX_ATTEMPTS", async () => {
    hooks.requests.length = 0;
    hooks.respondWith.push(503, 503, 503, 503, 503);
    await send(alice, "bob", "and again");
    await waitFor(() => hooks.requests.length === 4, "four attempts", 5000);
    await new Promise((resolve) => setTimeout(resolve, 400));
    assertEquals(hooks.requests.length, 4);
    hooks.respondWith.length = 0;
  });
});

interface PushSetup extends AsyncDisposable {
  server: TestServer;
  push: Receiver<PushRequest>;
  keys: Map<string, BrowserKeys>;
  subscribe(userId: string, name: string): Promise<Response>;
  close(): Promise<void>;
}

async function startPushSetup(env: Record<string, string> = {}): Promise<PushSetup> {
  const keys = new Map<string, BrowserKeys>();
  const push = await startPushService(VAPID, (name) => keys.get(name));
  const server = await startTestServer({ ...VAPID_ENV, ...FAST_RETRIES, ...env });
  const close = async () => {
    await server.close();
    await push.close();
  };
  return {
    server,
    push,
    keys,
    subscribe(userId, name) {
      const browser = browserKeys();
      keys.set(name, browser);
      return server.api(userId, "/api/push/subscriptions", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({
          endpoint: `${push.url}/push/${name}`,
          expirationTime: null,
          keys: browser.json,
        }),
      });
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}

Deno.test("Web Push: an offline user's browser gets a VAPID-signed, encrypted notification without the text", async () => {
  await using setup = await startPushSetup();
  const subscribed = await setup.subscribe("bob", "bob-laptop");
  assertEquals(subscribed.status, 201);
  assertEquals((await subscribed.json()).endpoint, `${setup.push.url}/push/bob-laptop`);
  const alice = await setup.server.connect("alice");
  const message = await send(alice, "bob", "secret plans");
  await waitFor(() => setup.push.requests.length === 1, "the push request");
  const [request] = setup.push.requests as [PushRequest];
  assertEquals(request.path, "/push/bob-laptop");
  assertEquals(request.vapidProblem, null);
  assertEquals(request.headers.get("content-encoding"), "aes128gcm");
  assertEquals(request.headers.get("urgency"), "high");
  assertEquals(request.payload, {
    type: "message",
    messageId: message._id,
    senderId: "alice",
    senderName: null,
    createdAt: message.createdAt,
    attachment: null,
  });
});

Deno.test("Web Push: PUSH_INCLUDE_TEXT=true puts the text in; every subscription of the user is notified", async () => {
  await using setup = await startPushSetup({ PUSH_INCLUDE_TEXT: "true" });
  assertEquals((await setup.subscribe("bob", "bob-phone")).status, 201);
  assertEquals((await setup.subscribe("bob", "bob-laptop")).status, 201);
  assertEquals((await setup.subscribe("carol", "carol-phone")).status, 201);
  const alice = await setup.server.connect("alice");
  await send(alice, "bob", "lunch at 12?");
  await waitFor(() => setup.push.requests.length === 2, "two push requests");
  await new Promise((resolve) => setTimeout(resolve, 100));
  assertEquals(
    setup.push.requests.map((r) => r.path).sort(),
    ["/push/bob-laptop", "/push/bob-phone"],
  );
  for (const request of setup.push.requests) {
    assertEquals(request.vapidProblem, null);
    assertEquals(request.payload?.text, "lunch at 12?");
  }
});

Deno.test("Web Push: a subscription the push service calls gone (410, 404) is deleted; 5xx is retried", async () => {
  await using setup = await startPushSetup();
  assertEquals((await setup.subscribe("bob", "bob-old")).status, 201);
  const alice = await setup.server.connect("alice");
  setup.push.respondWith.push(410);
  await send(alice, "bob", "one");
  await waitFor(() => setup.push.requests.length === 1, "the first push");
  await new Promise((resolve) => setTimeout(resolve, 100));
  await send(alice, "bob", "two");
  await settle(alice, 200);
  assertEquals(setup.push.requests.length, 1, "the 410 subscription was removed");

  assertEquals((await setup.subscribe("bob", "bob-new")).status, 201);
  setup.push.respondWith.push(503, 404);
  await send(alice, "bob", "three");
  await waitFor(() => setup.push.requests.length === 3, "a retry after the 503");
  await new Promise((resolve) => setTimeout(resolve, 100));
  await send(alice, "bob", "four");
  await settle(alice, 200);
  assertEquals(setup.push.requests.length, 3, "the 404 subscription was removed");
});

Deno.test("Web Push: an endpoint outside PUSH_ENDPOINT_HOSTS is refused and never contacted (no SSRF)", async () => {
  // The default list: the browsers' push services only. The local receiver is not on it.
  await using setup = await startPushSetup({ PUSH_ENDPOINT_HOSTS: "" });
  const refused = await setup.subscribe("bob", "internal-admin");
  assertEquals(refused.status, 400);
  assertEquals((await refused.json()).code, "VALIDATION_ERROR");
  const alice = await setup.server.connect("alice");
  await send(alice, "bob", "knock knock");
  await settle(alice, 300);
  assertEquals(setup.push.requests.length, 0, "the server connected to the endpoint");
});

Deno.test("POST/DELETE /api/push/subscriptions validate input and need a token", async (t) => {
  await using setup = await startPushSetup({ PUSH_ALLOW_INSECURE_ENDPOINTS: "false" });
  const { server } = setup;
  const post = (userId: string, body: unknown, method = "POST") =>
    server.api(userId, "/api/push/subscriptions", {
      method,
      headers: { "content-type": "application/json" },
      body: JSON.stringify(body),
    });
  const keys = browserKeys().json;
  await t.step("the VAPID public key is public", async () => {
    const res = await fetch(`${server.url}/api/push/vapid-public-key`);
    assertEquals(await res.json(), { publicKey: VAPID.publicKey });
  });

  await t.step("no token: 401", async () => {
    const res = await fetch(`${server.url}/api/push/subscriptions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ endpoint: "https://push.example.com/x", keys }),
    });
    assertEquals([res.status, (await res.json()).code], [401, "UNAUTHORIZED"]);
  });

  await t.step("bad input: 400 VALIDATION_ERROR", async () => {
    const bad = [
      "not json",
      { endpoint: "https://push.example.com/x" },
      { endpoint: "ftp://push.example.com/x", keys },
      { endpoint: "https://push.example.com/x", keys: { ...keys, p256dh: "AAAA" } },
      { endpoint: "https://push.example.com/x", keys: { ...keys, auth: "not base64!" } },
      // http endpoints only with PUSH_ALLOW_INSECURE_ENDPOINTS=true
      { endpoint: "http://push.example.com/x", keys },
    ];
    for (const body of bad) {
      const res = await post("bob", body);
      const answer = await res.json();
      assertEquals([res.status, answer.code], [400, "VALIDATION_ERROR"], JSON.stringify(body));
    }
  });

  await t.step("subscribe, then unsubscribe once", async () => {
    const endpoint = "https://push.example.com/bob";
    assertEquals((await post("bob", { endpoint, keys })).status, 201);
    const others = await post("carol", { endpoint }, "DELETE");
    assertEquals(await others.json(), { deleted: false });
    const mine = await post("bob", { endpoint }, "DELETE");
    assertEquals(await mine.json(), { deleted: true });
    const again = await post("bob", { endpoint }, "DELETE");
    assertEquals(await again.json(), { deleted: false });
  });
});

Deno.test("/api/push exists only when VAPID keys are set", async () => {
  await using server = await startTestServer();
  const res = await server.api("bob", "/api/push/subscriptions", { method: "POST", body: "{}" });
  assertEquals([res.status, (await res.json()).code], [404, "NOT_FOUND"]);
});

Deno.test("loadConfig() reads the push settings and refuses half of them", () => {
  const none = loadConfig({});
  assertEquals(none.push.webhook, undefined);
  assertEquals(none.push.webPush, undefined);
  assertEquals(none.push.includeText, false);
  const both = loadConfig({
    PUSH_WEBHOOK_URL: "https://app.example.com/hooks/parley",
    PUSH_WEBHOOK_SECRET: WEBHOOK_SECRET,
    VAPID_PUBLIC_KEY: VAPID.publicKey,
    VAPID_PRIVATE_KEY: VAPID.privateKey,
    VAPID_SUBJECT: VAPID.subject,
    PUSH_INCLUDE_TEXT: "true",
  });
  assertEquals(both.push.webhook, {
    url: "https://app.example.com/hooks/parley",
    secret: WEBHOOK_SECRET,
  });
  assertEquals(both.push.webPush, VAPID);
  assertEquals(both.push.includeText, true);

  assertMatch(
    configError({ PUSH_WEBHOOK_URL: "https://a.example/h" }),
    /PUSH_WEBHOOK_SECRET: required/,
  );
  assertMatch(configError({ VAPID_PUBLIC_KEY: VAPID.publicKey }), /Web Push needs all three/);
  assertEquals(none.push.events, undefined);
  assertEquals(
    loadConfig({
      EVENTS_WEBHOOK_URL: "https://app.example.com/events",
      EVENTS_WEBHOOK_SECRET: WEBHOOK_SECRET,
    })
      .push.events,
    { url: "https://app.example.com/events", secret: WEBHOOK_SECRET },
  );
  assertMatch(
    configError({ EVENTS_WEBHOOK_URL: "https://a.example/e" }),
    /EVENTS_WEBHOOK_SECRET: required/,
  );
  assertMatch(
    configError({ EVENTS_WEBHOOK_URL: "https://a.example/e", EVENTS_WEBHOOK_SECRET: "short" }),
    /EVENTS_WEBHOOK_SECRET: must be at least 32 characters \(given: \(hidden\)\)/,
  );
  const hidden = configError({ VAPID_PRIVATE_KEY: "short", VAPID_PUBLIC_KEY: VAPID.publicKey });
  assertMatch(hidden, /VAPID_PRIVATE_KEY: .*\(hidden\)/);
  assert(!hidden.includes("short"));
  assertMatch(configError({ VAPID_SUBJECT: "ops@example.com" }), /VAPID_SUBJECT/);
});

Deno.test("OutboxDispatcher.close() leaves waiting retries in the store, aborts attempts still running after the grace; both run after a restart", async () => {
  await using dir = await tempDir("parley-outbox-");
  const path = `${dir.path}/parley.db`;
  const log = createLogger("silent");
  const retry = { maxAttempts: 5, baseDelayMs: 60_000, maxDelayMs: 60_000 };
  let retried = 0;
  let aborted = false;
  {
    const backend = await openSqliteBackend(path, { uploadDir: dir.path });
    const dispatcher = new OutboxDispatcher(backend.outbox, {
      failing: {
        ...retry,
        attempt: () => Promise.resolve({ status: "retry", reason: (++retried, "x") }),
      },
      hanging: {
        ...retry,
        attempt: (_payload, { signal }) =>
          new Promise((resolve) =>
            signal.addEventListener("abort", () => {
              aborted = true;
              resolve({ status: "retry", reason: "aborted" });
            })
          ),
      },
    }, log);
    dispatcher.start();
    await dispatcher.enqueue([
      { id: "a", channel: "failing", payload: "{}" },
      { id: "b", channel: "hanging", payload: "{}" },
    ]);
    await waitFor(() => retried === 1, "a's first attempt");
    // Its retry a minute away is stored right after.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const closing = Date.now();
    await dispatcher.close(50);
    assert(aborted, "the hanging attempt was aborted");
    const due = await backend.outbox.nextDue();
    assert(due !== null && due >= closing && due <= Date.now(), "b is due at once");
    await backend.close();
  }
  // The next process: b (cut off by the shutdown) runs at once, a waits for its retry time.
  const backend = await openSqliteBackend(path, { uploadDir: dir.path });
  const attempts: { id: string; attempt: number }[] = [];
  const succeeding = {
    ...retry,
    attempt: (_payload: string, { deliveryId, attempt }: AttemptContext) => {
      attempts.push({ id: deliveryId, attempt });
      return Promise.resolve({ status: "done" } as const);
    },
  };
  const dispatcher = new OutboxDispatcher(
    backend.outbox,
    { failing: succeeding, hanging: succeeding },
    log,
  );
  dispatcher.start();
  await waitFor(() => attempts.length === 1, "b's second attempt");
  await new Promise((resolve) => setTimeout(resolve, 300));
  assertEquals(attempts, [{ id: "b", attempt: 2 }]);
  await dispatcher.close();
  await backend.close();
});

Deno.test("delayBefore(): doubling with jitter, capped; Retry-After is a floor", () => {
  const channel = { baseDelayMs: 1000, maxDelayMs: 30_000 };
  for (let i = 0; i < 50; i++) {
    const first = delayBefore(channel, 1);
    assert(first >= 800 && first <= 1200, `first retry after ${first} ms`);
    const third = delayBefore(channel, 3);
    assert(third >= 3200 && third <= 4800, `third retry after ${third} ms`);
    assertEquals(delayBefore(channel, 10), 30_000);
    assertEquals(delayBefore(channel, 1, 5000), 5000);
    assertEquals(delayBefore(channel, 10, 120_000), 120_000);
  }
});
