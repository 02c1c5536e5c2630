/**
 * Behind the repo's nginx (deploy/nginx.conf, its upstream pointed at a test server): a page
 * at http://localhost:<proxy port>, in Chromium, connects its socket, uploads a file and gets
 * a link that keeps the port, and sends the file in a message. A proxy that passes `$host`
 * (no port) fails each of these: the page's origin is not Parley's own ("Origin not
 * allowed") and the link points at http://localhost/.
 *
 * Skipped with a visible SKIPPED line without nginx or /usr/bin/chromium (CI has both).
 */
import { chromium } from "playwright-core";
import { assert, assertEquals } from "../helpers/assert.ts";
import { startTestServer } from "../helpers/server.ts";
import { type ClusterNodeProcess, NGINX, TestProxy } from "../cluster/harness.ts";
import { CHROMIUM, hasChromium } from "./chromium.ts";

const CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic"];
const skip = !NGINX ? "nginx is not installed" : !hasChromium ? `${CHROMIUM} is missing` : "";
if (skip) console.warn(`SKIPPED: browser through nginx (${skip})`);

/** What the page saw; computed inside the browser, from the proxy's origin. */
interface PageResult {
  origin: string;
  uploadStatus: number;
  uploadUrl: string;
  downloaded: string;
  connectError: string | null;
  sendOk: boolean;
  sentFileUrl: string | null;
}

Deno.test({
  name:
    "through deploy/nginx.conf a page at localhost:<port> connects and its upload links keep the port",
  ignore: skip !== "",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // Closed in reverse: the browser, the proxy, then the server behind it.
    await using server = await startTestServer();
    // The proxy reads only the node's port.
    const node = { port: server.parley.port } as ClusterNodeProcess;
    await using proxy = await TestProxy.start([node]);
    const pageOrigin = proxy.url.replace("127.0.0.1", "localhost");
    await using browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    const page = await browser.newPage();
    // Any page of Parley's gives the origin; the Socket.IO client comes from Parley too.
    await page.goto(`${pageOrigin}/healthz`);
    await page.addScriptTag({ url: "/socket.io/socket.io.min.js" });
    const token = await server.token("alice");
    const result: PageResult = await page.evaluate(async (token: string) => {
      const auth = { authorization: `Bearer ${token}` };
      const upload = await fetch("/api/uploads?name=note.txt", {
        method: "POST",
        headers: { ...auth, "content-type": "text/plain" },
        body: "hello through the proxy",
      });
      const file = upload.ok ? await upload.json() : { url: "" };
      const downloaded = file.url
        ? await fetch(file.url, { headers: auth }).then((r) => r.text(), (e) => String(e))
        : "";
      // deno-lint-ignore no-explicit-any
      const io = (globalThis as any).io;
      // A websocket handshake always carries Origin (a same-origin polling GET does not).
      const socket = io({ auth: { token }, transports: ["websocket"], reconnection: false });
      const connectError = await new Promise<string | null>((resolve) => {
        socket.once("connect", () => resolve(null));
        socket.once("connect_error", (err: Error) => resolve(err.message));
      });
      let sendOk = false;
      let sentFileUrl: string | null = null;
      if (connectError === null) {
        const ack = await socket.timeout(5000).emitWithAck("sendMessage", {
          receiverId: "bob",
          file,
        });
        sendOk = ack.ok === true;
        sentFileUrl = ack.message?.file?.url ?? null;
      }
      socket.close();
      return {
        origin: location.origin,
        uploadStatus: upload.status,
        uploadUrl: file.url,
        downloaded,
        connectError,
        sendOk,
        sentFileUrl,
      };
    }, token);

    assertEquals(result.origin, pageOrigin);
    assertEquals(result.uploadStatus, 201, JSON.stringify(result));
    assert(
      result.uploadUrl.startsWith(`${pageOrigin}/api/uploads/`),
      `the upload link keeps the port: ${result.uploadUrl}`,
    );
    assertEquals(result.downloaded, "hello through the proxy");
    assertEquals(result.connectError, null, "the socket connects from the proxy's origin");
    assert(result.sendOk, JSON.stringify(result));
    assertEquals(result.sentFileUrl, result.uploadUrl);
  },
});
