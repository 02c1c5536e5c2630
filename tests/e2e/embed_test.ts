/**
 * <parley-chat> in a host app's page on another origin than Parley's, in
 * Chromium: loaded with one module script, it renders in an open shadow root,
 * opens its `partner`, gets tokens from the host's `tokenProvider` (asked
 * again when the first token expires), follows the host's --parley-* custom
 * properties; a page from an origin not in CORS_ORIGINS cannot load it.
 */
import type { AddressInfo } from "node:net";
import { createServer } from "node:http";
import { request } from "../../src/protocol/client.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { collect, waitFor } from "../helpers/events.ts";
import { signToken, startTestServer } from "../helpers/server.ts";
import {
  assertNoPageErrors,
  bubble,
  launch,
  openPage,
  skipWithoutChromium,
  step,
  type UserPage,
} from "./chromium.ts";

const ignore = skipWithoutChromium("<parley-chat> embed test");
/**
 * The first token the host hands out lives this long (more than the 5 s before
 * expiry at which the element replaces a token); the next ones an hour.
 */
const FIRST_TOKEN_SECONDS = 7;

/**
 * A host app: its page embeds the chat; /token is its own token endpoint. On
 * node:http, as Parley is (Hono's node server replaces the global Response,
 * which Deno.serve then refuses). `await using` closes it.
 */
async function startHost(parleyUrl: () => string): Promise<{ url: string } & AsyncDisposable> {
  let tokens = 0;
  const server = createServer(async (req, res) => {
    if (req.url === "/token") {
      tokens++;
      const lifetime = tokens === 1 ? `${FIRST_TOKEN_SECONDS}s` : "1h";
      res.writeHead(200, { "content-type": "text/plain" });
      res.end(await signToken("alice", {}, undefined, lifetime));
      return;
    }
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    if (req.url === "/early") {
      res.end(earlyTokenPage(parleyUrl(), await signToken("alice")));
      return;
    }
    res.end(hostPage(parleyUrl()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A page that sets `token` before the element's module has loaded (a classic script). */
function earlyTokenPage(parley: string, token: string): string {
  return `<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Host app</title>
  <script type="module" src="${parley}/parley-chat.js"></script></head>
<body>
  <parley-chat server="${parley}" partner="bob"></parley-chat>
  <script>document.querySelector("parley-chat").token = "${token}";</script>
</body>
</html>`;
}

function hostPage(parley: string): string {
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Host app</title>
  <script type="module" src="${parley}/parley-chat.js"></script>
  <style>
    parley-chat { --parley-accent: rgb(200, 0, 100); height: 560px; }
  </style>
</head>
<body>
  <h1>Host app</h1>
  <parley-chat server="${parley}" partner="bob"></parley-chat>
  <script type="module">
    window.tokenCalls = 0;
    await customElements.whenDefined("parley-chat");
    document.querySelector("parley-chat").tokenProvider = async () => {
      window.tokenCalls++;
      return await (await fetch("/token")).text();
    };
  </script>
</body>
</html>`;
}

Deno.test({
  name: "<parley-chat>: embedded in a page of another origin, with a tokenProvider (Chromium)",
  ignore,
  async fn(t) {
    let parleyUrl = "";
    // Closed in reverse: the browser (with the pages' contexts), Parley, then the hosts.
    await using host = await startHost(() => parleyUrl);
    await using stranger = await startHost(() => parleyUrl);
    await using server = await startTestServer({ CORS_ORIGINS: host.url });
    parleyUrl = server.url;
    const users: UserPage[] = [];
    assert(new URL(host.url).origin !== new URL(server.url).origin);
    await using browser = await launch();
    const bob = await server.connect("bob");
    const received = collect(bob, "receiveMessage");
    const alice = await openPage(browser, host.url, "alice");
    users.push(alice);
    const page = alice.page;

    await step(t, users, "it renders in an open shadow root and opens its partner", async () => {
      await page.locator("#status", { hasText: "connected as alice" }).waitFor();
      assertEquals(
        await page.evaluate(`document.querySelector("parley-chat").shadowRoot !== null`),
        true,
      );
      // Parley's ids live inside the shadow root only.
      assertEquals(await page.evaluate(`document.querySelector("#status")`), null);
      await page.locator("#partnerName", { hasText: "bob" }).waitFor();
      assert(await page.getByLabel("Message", { exact: true }).isEnabled());
      assertEquals(await page.evaluate("window.tokenCalls"), 1);
    });

    await step(t, users, "messages go both ways", async () => {
      await page.getByLabel("Message", { exact: true }).fill("hello from the host app");
      await page.getByLabel("Message", { exact: true }).press("Enter");
      await waitFor(() => received.items.length === 1, "bob to get it");
      assertEquals(received.items[0]?.text, "hello from the host app");
      await request(bob, "sendMessage", { receiverId: "alice", text: "hi, embedded alice" });
      await bubble(page, "hi, embedded alice").waitFor();
    });

    await step(t, users, "the host's --parley-accent colours it", async () => {
      const colour = await page.evaluate(
        `getComputedStyle(document.querySelector("parley-chat").shadowRoot
          .querySelector("#sendBtn")).backgroundColor`,
      );
      assertEquals(colour, "rgb(200, 0, 100)");
    });

    await step(t, users, "an expired token: the provider is asked again", async () => {
      await waitFor(
        async () => (await page.evaluate("window.tokenCalls")) as number >= 2,
        "a second tokenProvider call",
        (FIRST_TOKEN_SECONDS + 6) * 1000,
      );
      await page.locator("#status", { hasText: "connected as alice" }).waitFor();
      await page.getByLabel("Message", { exact: true }).fill("still here");
      await page.getByLabel("Message", { exact: true }).press("Enter");
      await waitFor(() => received.items.length === 2, "bob to get it");
      assert(await page.locator("#toast").isHidden(), "an error was shown");
    });

    await step(t, users, "a token set before the module loaded is used", async () => {
      const early = await openPage(browser, `${host.url}/early`, "alice");
      try {
        await early.page.locator("#status", { hasText: "connected as alice" }).waitFor();
        await early.page.locator("#partnerName", { hasText: "bob" }).waitFor();
        assertEquals(early.errors, []);
      } finally {
        await early.context.close();
      }
    });

    await step(t, users, "a page of an origin not in CORS_ORIGINS cannot load it", async () => {
      const other = await openPage(browser, stranger.url, "mallory");
      await new Promise((r) => setTimeout(r, 500));
      assertEquals(await other.page.evaluate(`customElements.get("parley-chat")`), undefined);
      await other.context.close();
    });

    await step(t, users, "no console errors", () => {
      assertNoPageErrors(users);
      return Promise.resolve();
    });
    received.stop();
  },
});
