/**
 * Tokens as the host app signs them: `JWT_USER_CLAIM` names the claim holding the user id
 * (a string, or an integer taken as its decimal digits), `JWT_NAME_CLAIM` the claims tried
 * for the display name. Over real REST calls and real sockets, with tokens signed as the
 * brief's Express app would (`jwt.sign({ userId: user._id }, secret)`).
 */
import { SignJWT } from "jose";
import { assert, assertEquals, assertRejects } from "./helpers/assert.ts";
import { waitFor } from "./helpers/events.ts";
import {
  clientList,
  connectClient,
  startTestServer,
  TEST_SECRET,
  type TestServer,
} from "./helpers/server.ts";

const key = new TextEncoder().encode(TEST_SECRET);
const MONGOOSE_ID = "665f1c2b9a1e4b0012345678";

/** A token with exactly these claims and an hour to live; no `sub` unless given. */
function tokenWith(claims: Record<string, unknown>): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: "HS256" }).setIssuedAt()
    .setExpirationTime("1h").sign(key);
}

async function rest(server: TestServer, token: string, path: string, init: RequestInit = {}) {
  const res = await fetch(`${server.url}${path}`, {
    ...init,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
  });
  return { status: res.status, body: await res.json() };
}

/** Sends `text` to `receiverId` over a socket authenticated by `token`; the stored message. */
async function sendAs(server: TestServer, token: string, receiverId: string, text: string) {
  await using clients = clientList();
  const client = await connectClient(server.url, { token });
  clients.push(client);
  const ack = await client.timeout(5000).emitWithAck("sendMessage", { receiverId, text });
  assert(ack.ok, JSON.stringify(ack));
  return ack.message;
}

/** The socket's refusal: `connect_error` with `data = {code, error}`. */
async function socketRefusal(server: TestServer, token: string) {
  let data: { code?: string; error?: string } = {};
  await assertRejects(() => connectClient(server.url, { token }), (err) => {
    data = (err as Error & { data?: typeof data }).data ?? {};
  });
  return data;
}

Deno.test("JWT_USER_CLAIM=userId: the user is the token's userId, string or integer", async (t) => {
  await using server = await startTestServer({ JWT_USER_CLAIM: "userId" });

  await t.step("a Mongoose ObjectId string, on sockets and REST", async () => {
    const token = await tokenWith({ userId: MONGOOSE_ID, sub: "not-the-user" });
    const message = await sendAs(server, token, "bob", "from the host's user");
    assertEquals(message.senderId, MONGOOSE_ID);
    const history = await rest(server, token, "/api/chats/history/bob");
    assertEquals(history.status, 200);
    assertEquals(history.body.map((m: { text: string }) => m.text), ["from the host's user"]);
  });

  await t.step(
    "the first event of a connection, session, names the user the server took",
    async () => {
      await using clients = clientList();
      const token = await tokenWith({ userId: MONGOOSE_ID, sub: "not-the-user", username: "Ada" });
      let session: unknown;
      clients.push(
        await connectClient(server.url, { token }, {
          setup: (c) => c.once("session", (s) => session = s),
        }),
      );
      await waitFor(() => session !== undefined, "the session event");
      assertEquals(session, { userId: MONGOOSE_ID, username: "Ada" });
    },
  );

  await t.step("an integer is its decimal digits", async () => {
    const token = await tokenWith({ userId: 42 });
    const message = await sendAs(server, token, "bob", "from user 42");
    assertEquals(message.senderId, "42");
    const bob = await server.token("bob", { userId: "bob" });
    const inbox = await rest(server, bob, "/api/chats/history/42");
    assertEquals(inbox.body.map((m: { senderId: string }) => m.senderId), ["42"]);
  });

  await t.step("no userId claim: UNAUTHORIZED naming the claim", async () => {
    const token = await tokenWith({ sub: "alice" });
    const refused = await rest(server, token, "/api/chats/my-chats");
    assertEquals([refused.status, refused.body.code], [401, "UNAUTHORIZED"]);
    assert(refused.body.error.includes('"userId"'), refused.body.error);
    const data = await socketRefusal(server, token);
    assertEquals(data.code, "UNAUTHORIZED");
    assert(data.error?.includes('"userId"'), data.error);
  });

  await t.step(
    "a fraction, an integer beyond 2^53, an object, an id breaking the rules: 401",
    async () => {
      for (const userId of [4.2, 2 ** 60, { id: "x" }, true, "", " padded"]) {
        const token = await tokenWith({ userId });
        const refused = await rest(server, token, "/api/chats/my-chats");
        assertEquals([refused.status, refused.body.code], [401, "UNAUTHORIZED"], String(userId));
        assertEquals((await socketRefusal(server, token)).code, "UNAUTHORIZED", String(userId));
      }
    },
  );
});

Deno.test("JWT_NAME_CLAIM: the display name comes from the first of its claims the token has", async () => {
  await using server = await startTestServer({ JWT_NAME_CLAIM: "displayName,name" });
  const partnerName = async (senderClaims: Record<string, unknown>) => {
    const sender = `u${crypto.randomUUID().slice(0, 8)}`;
    await sendAs(server, await tokenWith({ sub: sender, ...senderClaims }), "bob", "hi");
    const rows = await rest(server, await server.token("bob"), "/api/chats/conversations");
    return rows.body.find((row: { user: { _id: string } }) => row.user._id === sender)?.user
      .username;
  };
  assertEquals(await partnerName({ displayName: "Ana M.", name: "Ana Maria" }), "Ana M.");
  assertEquals(await partnerName({ name: "Ana Maria", username: "ana" }), "Ana Maria");
  // `username` is not among the configured claims any more.
  assertEquals(await partnerName({ username: "ana" }), null);
});

Deno.test("dev mode signs its tokens in the configured claims", async () => {
  await using server = await startTestServer({
    JWT_SECRET: "",
    JWT_USER_CLAIM: "userId",
    JWT_NAME_CLAIM: "displayName",
  });
  const res = await fetch(`${server.url}/api/dev/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ userId: "carol", username: "Carol" }),
  });
  const { token } = await res.json();
  const payload = JSON.parse(atob(token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/")));
  assertEquals([payload.userId, payload.displayName], ["carol", "Carol"]);
  assertEquals((await sendAs(server, token, "bob", "dev")).senderId, "carol");
});
