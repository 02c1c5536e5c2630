/**
 * Reading like a chat app, in Chromium: a chat opens at its newest message
 * even while its images are still loading; a message counts as read only once
 * it was on screen; a new message while scrolled up shows a "New messages"
 * button instead of moving the view; an unread divider, day separators, and
 * "Load older" keeping the reader's place.
 */
import { request } from "../../src/protocol/client.ts";
import type { ChatMessage } from "../../src/protocol/types.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { waitFor } from "../helpers/events.ts";
import { type ChatClient, startTestServer, type TestServer } from "../helpers/server.ts";
import { tempDir } from "../helpers/temp_dir.ts";
import {
  assertNoPageErrors,
  bubble,
  DESKTOP,
  launch,
  onScreen,
  openPage,
  PHONE,
  signIn,
  skipWithoutChromium,
  solidPng,
  step,
  storedMessage,
  type UserPage,
} from "./chromium.ts";

const ignore = skipWithoutChromium("web client reading tests");

async function send(client: ChatClient, text: string, file?: ChatMessage["file"]) {
  const res = await request(client, "sendMessage", { receiverId: "bob", text, file });
  if (!res.ok) throw new Error(res.error);
  return res.message;
}

async function readAt(server: TestServer, text: string): Promise<string | null> {
  return (await storedMessage(server, "alice", "bob", text)).readAt;
}

for (const [size, viewport] of [["1280×800", DESKTOP], ["390×844", PHONE]] as const) {
  Deno.test({
    name: `web client at ${size}: reading, scrolling and read receipts in Chromium`,
    ignore,
    async fn(t) {
      // Closed in reverse: the browser (with the pages' contexts), the server, the directory.
      await using uploads = await tempDir("parley-e2e-reading-");
      await using server = await startTestServer({ UPLOAD_DIR: uploads.path });
      await using browser = await launch();
      const users: UserPage[] = [];
      const alice = await server.connect("alice");
      const bob = await openPage(browser, server.url, "bob", viewport);
      users.push(bob);

      await step(t, users, "a chat with images opens at its newest message", async () => {
        const png = await solidPng(320, 400);
        for (let i = 1; i <= 12; i++) await send(alice, `early ${i}`);
        for (let i = 1; i <= 3; i++) {
          const res = await server.api("alice", "/api/uploads?name=photo.png", {
            method: "POST",
            headers: { "content-type": "image/png" },
            body: png,
          });
          assertEquals(res.status, 201);
          await send(alice, `photo ${i}`, await res.json());
        }
        await send(alice, "the newest message");
        await signIn(bob, await server.token("bob"));
        await bob.page.locator('#conversations li[data-user="alice"]').click();
        await bubble(bob.page, "the newest message").waitFor();
        // Every preview decoded (each 400 px tall): the list grew after the first scroll.
        await waitFor(
          async () =>
            await bob.page.evaluate(
              `[...document.querySelectorAll("#messages img.file-preview")]
              .filter((i) => i.complete && i.naturalHeight === 400).length`,
            ) === 3,
          "three previews to load",
          10_000,
        );
        await waitFor(() => onScreen(bob.page, "the newest message"), "the newest on screen");
      });

      await step(t, users, "only messages that were on screen are read", async () => {
        await waitFor(async () => (await readAt(server, "the newest message")) !== null, "read");
        assertEquals(await readAt(server, "early 1"), null, "never on screen, yet read");
        assert(!(await onScreen(bob.page, "early 1")));
      });

      await step(t, users, "an unread divider and a day separator are shown", async () => {
        const divider = bob.page.locator("#messages li.unread-divider");
        assertEquals(await divider.innerText(), "Unread messages");
        // It stands right before the first message that was unread on opening.
        const next = await bob.page.locator("#messages li.unread-divider + li.message .text")
          .innerText();
        assertEquals(next, "early 1");
        assertEquals(await bob.page.locator("#messages li.day").first().innerText(), "Today");
      });

      await step(
        t,
        users,
        "scrolled up, a new message shows a button and is not read",
        async () => {
          await bob.page.locator("#history").evaluate((box) => (box.scrollTop = 0));
          await waitFor(async () => (await readAt(server, "early 1")) !== null, "early 1 read");
          await send(alice, "while you were reading");
          await bubble(bob.page, "while you were reading").waitFor({ state: "attached" });
          const button = bob.page.getByRole("button", { name: "New messages" });
          await button.waitFor();
          assert(!(await onScreen(bob.page, "while you were reading")), "the view moved");
          await new Promise((r) => setTimeout(r, 300));
          assertEquals(await readAt(server, "while you were reading"), null);
          await button.click();
          await waitFor(() => onScreen(bob.page, "while you were reading"), "scrolled to it");
          await waitFor(
            async () => (await readAt(server, "while you were reading")) !== null,
            "read once seen",
          );
          await button.waitFor({ state: "hidden" });
        },
      );

      await step(t, users, "at the bottom, a new message scrolls into view", async () => {
        await send(alice, "right on time");
        await bubble(bob.page, "right on time").waitFor();
        await waitFor(() => onScreen(bob.page, "right on time"), "it on screen");
      });

      await step(t, users, "a hidden page reads nothing until it is visible", async () => {
        await bob.page.evaluate(`(() => {
        Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
        document.dispatchEvent(new Event("visibilitychange"));
      })()`);
        await send(alice, "while hidden");
        await bubble(bob.page, "while hidden").waitFor();
        await new Promise((r) => setTimeout(r, 300));
        assertEquals(await readAt(server, "while hidden"), null);
        await bob.page.evaluate(`(() => {
        delete document.visibilityState;
        document.dispatchEvent(new Event("visibilitychange"));
      })()`);
        await waitFor(async () => (await readAt(server, "while hidden")) !== null, "read");
      });

      await step(t, users, "Load older keeps the reader's place", async () => {
        for (let i = 1; i <= 50; i++) await send(alice, `bulk ${i}`);
        await bob.page.reload();
        await bob.page.locator("#status", { hasText: "connected as bob" }).waitFor();
        await bob.page.locator('#conversations li[data-user="alice"]').click();
        await bubble(bob.page, "bulk 50").waitFor();
        const older = bob.page.getByRole("button", { name: "Load older" });
        await bob.page.locator("#history").evaluate((box) => (box.scrollTop = 0));
        await older.waitFor();
        const topText = "bulk 1";
        const before = (await bubble(bob.page, topText).boundingBox())!.y;
        await older.click();
        await bubble(bob.page, "early 1").waitFor({ state: "attached" });
        const after = (await bubble(bob.page, topText).boundingBox())!.y;
        assert(Math.abs(after - before) < 5, `moved from ${before} to ${after}`);
      });

      await step(t, users, "no console errors", async () => {
        assertNoPageErrors(users);
        assert(await bob.page.locator("#toast").isHidden());
      });
    },
  });
}
