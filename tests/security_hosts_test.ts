/**
 * DNS rebinding: a page on any site reaches a local Parley by a name of its
 * own; its requests carry that name in `Host`. Raw node:http requests, since
 * fetch does not let a caller choose `Host`.
 */
import { request } from "node:http";
import { assertEquals } from "./helpers/assert.ts";
import { startTestServer } from "./helpers/server.ts";

interface Answer {
  status: number;
  body: string;
}

function call(
  url: string,
  path: string,
  headers: Record<string, string>,
  method = "GET",
  body?: string,
): Promise<Answer> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ hostname, port, path, method, headers }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (chunk) => (text += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

const HANDSHAKE = "/socket.io/?EIO=4&transport=polling";

Deno.test("dev mode serves loopback Host names only: a rebinding page mints no token and opens no socket", async () => {
  await using server = await startTestServer({ JWT_SECRET: "" });
  const { port } = new URL(server.url);
  const mint = (host: string) =>
    call(
      server.url,
      "/api/dev/token",
      {
        host,
        origin: `http://${host}`,
        "content-type": "application/json",
      },
      "POST",
      JSON.stringify({ userId: "alice" }),
    );
  const foreign = `rebind-x.evil.test:${port}`;
  const refused = await mint(foreign);
  assertEquals(refused.status, 403);
  assertEquals(JSON.parse(refused.body), { error: "Host not allowed", code: "FORBIDDEN" });
  assertEquals((await call(server.url, HANDSHAKE, { host: foreign })).status, 403);

  for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, `[::1]:${port}`]) {
    assertEquals((await mint(host)).status, 200, host);
  }
  assertEquals((await call(server.url, HANDSHAKE, { host: `localhost:${port}` })).status, 200);
});

Deno.test("ALLOWED_HOSTS pins the names served; PUBLIC_URL's host is always one; unset serves any", async () => {
  await using pinned = await startTestServer({
    ALLOWED_HOSTS: "chat.example.com",
    PUBLIC_URL: "https://parley.example.org",
  });
  assertEquals((await call(pinned.url, "/healthz", { host: "chat.example.com" })).status, 200);
  assertEquals((await call(pinned.url, "/healthz", { host: "parley.example.org" })).status, 200);
  assertEquals((await call(pinned.url, "/healthz", { host: "evil.test" })).status, 403);
  assertEquals((await call(pinned.url, HANDSHAKE, { host: "evil.test" })).status, 403);
  await using open = await startTestServer();
  assertEquals((await call(open.url, "/healthz", { host: "anything.example" })).status, 200);
});
