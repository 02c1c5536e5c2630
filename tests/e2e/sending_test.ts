/**
 * Sending like a chat app, in Chromium: Enter sends and Shift+Enter breaks the
 * line; a message shows at once as pending; a send whose answer is lost shows
 * "failed — retry", and the retry reuses its clientMessageId so the message is
 * stored once; a pasted file is uploaded with a preview; the describe-by-URL
 * fields wait behind "Attach by URL".
 */
import { Buffer } from "node:buffer";
import type { WebSocketRoute } from "playwright-core";
import type { ChatMessage } from "../../src/protocol/types.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { collect, waitFor } from "../helpers/events.ts";
import { startTestServer } from "../helpers/server.ts";
import { tempDir } from "../helpers/temp_dir.ts";
import {
  assertNoPageErrors,
  bubble,
  DESKTOP,
  launch,
  openChat,
  openPage,
  PHONE,
  signIn,
  skipWithoutChromium,
  solidPng,
  step,
  type UserPage,
} from "./chromium.ts";

const ignore = skipWithoutChromium("web client sending tests");

for (const [size, viewport] of [["1280×800", DESKTOP], ["390×844", PHONE]] as const) {
  Deno.test({
    name: `web client at ${size}: Enter, pending/failed/retry without duplicates, files (Chromium)`,
    ignore,
    async fn(t) {
      // Closed in reverse: the browser (with the pages' contexts), the server, the directory.
      await using uploads = await tempDir("parley-e2e-sending-");
      await using server = await startTestServer({ UPLOAD_DIR: uploads.path });
      await using browser = await launch();
      const users: UserPage[] = [];
      const bob = await server.connect("bob");
      const received = collect(bob, "receiveMessage");
      const alice = await openPage(browser, server.url, "alice", viewport);
      users.push(alice);
      // Between the page and Parley: while `dropAcks`, the server's answers to the page's
      // requests (Socket.IO ACK packets, "43…") are lost, as on a connection that drops.
      let dropAcks = false;
      let route: WebSocketRoute | undefined;
      await alice.page.routeWebSocket(/\/socket\.io\//, (ws) => {
        route = ws;
        const upstream = ws.connectToServer();
        upstream.onMessage((message) => {
          if (dropAcks && typeof message === "string" && message.startsWith("43")) return;
          ws.send(message);
        });
      });
      // The route takes effect on pages loaded after it.
      await alice.page.reload();
      await signIn(alice, await server.token("alice"));
      await openChat(alice, "bob");
      const text = alice.page.getByLabel("Message", { exact: true });

      await step(t, users, "Enter sends, Shift+Enter makes a new line", async () => {
        await text.click();
        await alice.page.keyboard.type("line one");
        await alice.page.keyboard.press("Shift+Enter");
        await alice.page.keyboard.type("line two");
        assertEquals(await text.inputValue(), "line one\nline two");
        await alice.page.keyboard.press("Enter");
        await waitFor(() => received.items.length === 1, "bob to get it");
        assertEquals(received.items[0]?.text, "line one\nline two");
        assertEquals(await text.inputValue(), "");
        await bubble(alice.page, "line one\nline two").locator(".ticks[data-state=sent]")
          .waitFor();
      });

      await step(
        t,
        users,
        "a lost answer: pending, then failed — retry, stored once",
        async () => {
          dropAcks = true;
          await text.fill("are you there?");
          await text.press("Enter");
          const mine = bubble(alice.page, "are you there?");
          await mine.locator(".ticks[data-state=pending]").waitFor();
          await waitFor(() => received.items.length === 2, "the server to store it");
          const retry = mine.getByRole("button", { name: "failed — retry" });
          await retry.waitFor({ timeout: 15_000 });
          await alice.page.locator("#toast", { hasText: "Sending" }).waitFor();
          dropAcks = false;
          await retry.click();
          await mine.locator(".ticks[data-state=sent], .ticks[data-state=delivered]").waitFor();
          await retry.waitFor({ state: "hidden" });
          await alice.page.locator("#toast").waitFor({ state: "hidden" });
          const history =
            (await (await server.api("alice", "/api/chats/history/bob")).json()) as ChatMessage[];
          assertEquals(history.filter((m) => m.text === "are you there?").length, 1);
          assertEquals(await alice.page.locator("#messages li.message").count(), 2);
          await alice.page.locator("#toast").waitFor({ state: "hidden" });
        },
      );

      await step(
        t,
        users,
        "a send cut off by a dropped connection goes again, once",
        async () => {
          dropAcks = true;
          await text.fill("cut off mid-send");
          await text.press("Enter");
          const mine = bubble(alice.page, "cut off mid-send");
          await mine.locator(".ticks[data-state=pending]").waitFor();
          await waitFor(() => received.items.length === 3, "the server to store it");
          dropAcks = false;
          await route!.close();
          await alice.page.locator("#status", { hasText: "connected as alice" }).waitFor();
          // Nobody clicked retry: the reconnect sent it again, with its clientMessageId.
          await mine.locator(".ticks[data-state=sent], .ticks[data-state=delivered]").waitFor({
            timeout: 15_000,
          });
          const history =
            (await (await server.api("alice", "/api/chats/history/bob")).json()) as ChatMessage[];
          assertEquals(history.filter((m) => m.text === "cut off mid-send").length, 1);
        },
      );

      await step(t, users, "a dropped file is uploaded and sent", async () => {
        const png = await solidPng(20, 20);
        await alice.page.evaluate(
          `(() => {
          const bytes = Uint8Array.from(atob("${Buffer.from(png).toString("base64")}"),
            (c) => c.charCodeAt(0));
          const data = new DataTransfer();
          data.items.add(new File([bytes], "dropped.png", { type: "image/png" }));
          const chat = document.querySelector(".chat");
          chat.dispatchEvent(new DragEvent("dragover", { dataTransfer: data, bubbles: true, cancelable: true }));
          chat.dispatchEvent(new DragEvent("drop", { dataTransfer: data, bubbles: true, cancelable: true }));
        })()`,
        );
        await alice.page.locator("#attachment").getByText("dropped.png").waitFor();
        await text.press("Enter");
        await waitFor(() => received.items.length === 4, "bob to get it");
        assertEquals(received.items[3]?.file?.name, "dropped.png");
      });

      await step(t, users, "a pasted image is uploaded with a preview, then sent", async () => {
        const png = await solidPng(40, 30);
        await text.focus();
        // A paste with a file, as the clipboard gives one (evaluate runs over DevTools,
        // which the page's CSP does not restrict).
        await alice.page.evaluate(
          `(() => {
          const bytes = Uint8Array.from(atob("${Buffer.from(png).toString("base64")}"),
            (c) => c.charCodeAt(0));
          const data = new DataTransfer();
          data.items.add(new File([bytes], "pasted.png", { type: "image/png" }));
          document.querySelector("#messageText").dispatchEvent(
            new ClipboardEvent("paste", { clipboardData: data, bubbles: true, cancelable: true }));
        })()`,
        );
        const attachment = alice.page.locator("#attachment");
        await attachment.locator("img.attachment-preview").waitFor();
        await attachment.getByText("pasted.png").waitFor();
        await waitFor(
          async () =>
            await alice.page.evaluate(`document.querySelector("#attachment progress")?.value`) ===
              1,
          "the upload to finish",
        );
        await text.fill("a pasted picture");
        await text.press("Enter");
        await waitFor(() => received.items.length === 5, "bob to get it");
        assertEquals(received.items[4]?.file?.name, "pasted.png");
        assertEquals(received.items[4]?.file?.type, "image");
        await bubble(alice.page, "a pasted picture").locator("img.file-preview").waitFor();
        assert(await attachment.isHidden());
      });

      await step(
        t,
        users,
        "the URL fields wait behind 'Attach by URL'; Escape closes",
        async () => {
          const url = alice.page.getByLabel("File URL");
          assert(!(await url.isVisible()));
          await alice.page.getByText("Attach by URL").click();
          await url.waitFor();
          await url.focus();
          await alice.page.keyboard.press("Escape");
          await url.waitFor({ state: "hidden" });
        },
      );

      await step(t, users, "no console errors", () => {
        assertNoPageErrors(users);
        return Promise.resolve();
      });
      received.stop();
    },
  });
}
