import { assert, assertEquals } from "./helpers/assert.ts";
import { nextEvent, waitFor } from "./helpers/events.ts";
import { spawnServer } from "./helpers/child_server.ts";
import { connectClient, disconnectAll, signToken, startTestServer } from "./helpers/server.ts";
import { tempDir } from "./helpers/temp_dir.ts";

function metricValue(text: string, name: string): number {
  const line = text.split("\n").find((l) => l.startsWith(name + " ") || l.startsWith(name + "{"));
  return line ? Number(line.slice(line.lastIndexOf(" ") + 1)) : Number.NaN;
}

Deno.test("/metrics counts sockets, online users, messages, latencies, errors and rate-limit hits", async () => {
  await using server = await startTestServer({ RATE_LIMITS: "on", RATE_LIMIT_TYPING: "1:1" });
  const alice = await server.connect("alice");
  const bob = await server.connect("bob");
  await server.connect("bob");
  bob.on("receiveMessage", (_m, ack) => ack());
  const delivered = nextEvent(alice, "messageDelivered");
  const sent = await alice.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: "m",
  });
  assert(sent.ok);
  await delivered;
  assert(
    (await bob.timeout(3000).emitWithAck("messageRead", { messageId: sent.message._id })).ok,
  );
  await bob.timeout(3000).emitWithAck("messageRead", { messageId: sent.message._id }); // repeat: not counted
  await alice.timeout(3000).emitWithAck("sendMessage", { receiverId: "bob", text: "" }); // VALIDATION_ERROR
  await alice.timeout(3000).emitWithAck("typing", { receiverId: "bob", isTyping: true });
  await alice.timeout(3000).emitWithAck("typing", { receiverId: "bob", isTyping: true }); // RATE_LIMITED
  await waitFor(
    async () => (await server.parley.store.users.get("bob"))?.isOnline === true,
    "bob online",
  );

  const res = await fetch(`${server.url}/metrics`);
  assertEquals(res.status, 200);
  assert(res.headers.get("content-type")?.startsWith("text/plain"));
  const text = await res.text();
  assertEquals(metricValue(text, "parley_connected_sockets"), 3);
  assertEquals(metricValue(text, "parley_online_users"), 2);
  assertEquals(metricValue(text, "parley_messages_sent_total"), 1);
  assertEquals(metricValue(text, "parley_messages_delivered_total"), 1);
  assertEquals(metricValue(text, "parley_messages_read_total"), 1);
  assertEquals(metricValue(text, 'parley_errors_total{code="VALIDATION_ERROR"}'), 1);
  assertEquals(metricValue(text, 'parley_rate_limited_total{limit="typing"}'), 1);
  assert(metricValue(text, 'parley_event_duration_seconds_count{event="sendMessage"}') >= 2);
  assert(
    metricValue(text, 'parley_store_duration_seconds_count{operation="messages.insert"}') >= 1,
  );
  assert(metricValue(text, "parley_process_resident_memory_bytes") > 0);
});

Deno.test("logs are JSON lines with levels, and carry neither message text nor tokens", async () => {
  await using dir = await tempDir("parley-logs-");
  await using server = await spawnServer({
    SQLITE_PATH: `${dir.path}/parley.db`,
    LOG_LEVEL: "debug",
  });
  const token = await signToken("alice");
  const alice = await connectClient(server.url, { token });
  const secret = "the launch code is 0000";
  const ack = await alice.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "bob",
    text: secret,
  });
  assert(ack.ok);
  await alice.timeout(3000).emitWithAck("sendMessage", { receiverId: "bob", text: "" });
  await fetch(`${server.url}/api/chats/my-chats`, {
    headers: { authorization: `Bearer ${token}` },
  })
    .then((r) => r.body?.cancel());
  await disconnectAll([alice]);
  server.process.kill("SIGTERM");
  await server.process.status;
  const lines = server.output().split("\n").filter((l) =>
    l.trim() !== "" && !l.startsWith("\u001b")
  );
  const entries = lines.map((line) => JSON.parse(line));
  assert(
    entries.every((e) =>
      typeof e.time === "string" && typeof e.level === "string" && typeof e.msg === "string"
    ),
  );
  assert(entries.some((e) => e.msg === "socket connected" && e.userId === "alice"));
  assert(entries.some((e) => e.msg === "event" && e.event === "sendMessage"));
  assert(entries.some((e) => e.msg === "event refused" && e.code === "VALIDATION_ERROR"));
  assert(!server.output().includes(secret), "no message text in logs");
  assert(!server.output().includes(token), "no tokens in logs");
});
