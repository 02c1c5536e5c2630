/**
 * State you can trust and every screen size, in Chromium: one connection
 * status that follows the network, controls enabled only when they can act,
 * one dismissable error toast that clears itself, a reload that reconnects and
 * refreshes; at 390×844 the list and the chat are two views with a back
 * button and nothing scrolls sideways; at 1280×800 both show; the message
 * list is a log; the page works from the keyboard.
 */
import { request } from "../../src/protocol/client.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { startTestServer } from "../helpers/server.ts";
import {
  assertNoPageErrors,
  bubble,
  DESKTOP,
  launch,
  openChat,
  openPage,
  PHONE,
  skipWithoutChromium,
  step,
  type UserPage,
} from "./chromium.ts";

const ignore = skipWithoutChromium("web client state and layout tests");
const LONG_WORD = "Supercalifragilistic".repeat(12);
const LONG_URL = `https://example.com/${"a-very-long-path-segment/".repeat(10)}`;

Deno.test({
  name: "web client: status, toast, reload, two views at 390×844, keyboard (Chromium)",
  ignore,
  async fn(t) {
    await using server = await startTestServer();
    // Declared after the server, so it closes first (with the pages' contexts).
    await using browser = await launch();
    const users: UserPage[] = [];
    const bob = await server.connect("bob");
    const phone = await openPage(browser, server.url, "alice", PHONE);
    users.push(phone);
    const page = phone.page;
    const status = page.locator("#status");
    const connect = page.getByRole("button", { name: "Connect" });

    await step(t, users, "signed out: only signing in can act", async () => {
      assertEquals((await status.innerText()).trim(), "signed out");
      assert(await connect.isEnabled());
      assert(await page.getByLabel("New chat with user id").isDisabled());
      assert(await page.getByRole("button", { name: "Open" }).isDisabled());
      await page.getByRole("log", { name: "Messages", includeHidden: true }).waitFor({
        state: "attached",
      });
    });

    await step(
      t,
      users,
      "signing in from the keyboard; Connect disabled once connected",
      async () => {
        await page.getByText("Token", { exact: true }).click();
        await page.getByLabel("Token (JWT)").fill(await server.token("alice"));
        await page.getByLabel("User id", { exact: true }).fill("alice");
        await page.getByLabel("User id", { exact: true }).press("Enter");
        await status.filter({ hasText: "connected as alice" }).waitFor();
        assert(await connect.isDisabled());
        assert(await page.getByRole("button", { name: "Sign out" }).isEnabled());
        // Tab from the new-chat field reaches its Open button, with a visible focus ring.
        await page.getByLabel("New chat with user id").fill("bob");
        await page.getByLabel("New chat with user id").press("Tab");
        const focused = page.locator(":focus");
        assertEquals(await focused.innerText(), "Open");
        const outline = await page.evaluate(
          `getComputedStyle(document.activeElement).outlineStyle`,
        );
        assert(outline !== "none", `focus outline: ${outline}`);
      },
    );

    await step(
      t,
      users,
      "one toast at a time, Escape dismisses, the cause clears it",
      async () => {
        await page.getByLabel("New chat with user id").fill("alice");
        await page.getByRole("button", { name: "Open" }).click();
        const toast = page.getByRole("alert");
        await toast.filter({ hasText: "you cannot chat with yourself" }).waitFor();
        await page.getByLabel("New chat with user id").fill("");
        await page.getByRole("button", { name: "Open" }).click();
        await toast.filter({ hasText: "enter a user id" }).waitFor();
        assertEquals(await toast.count(), 1);
        await page.keyboard.press("Escape");
        await toast.waitFor({ state: "hidden" });
        await page.getByLabel("New chat with user id").fill("alice");
        await page.getByRole("button", { name: "Open" }).click();
        await toast.waitFor();
        await openChat(phone, "bob");
        await toast.waitFor({ state: "hidden" });
      },
    );

    await step(t, users, "390×844: the chat is its own view, with a back button", async () => {
      assert(await page.locator(".sidebar").isHidden(), "the list beside the chat");
      await page.getByLabel("Message", { exact: true }).waitFor();
      await page.getByRole("button", { name: "Back to conversations" }).click();
      await page.locator('#conversations li[data-user="bob"]').waitFor();
      assert(await page.locator(".chat").isHidden());
      await page.locator('#conversations li[data-user="bob"]').click();
      await page.getByLabel("Message", { exact: true }).waitFor();
    });

    await step(
      t,
      users,
      "390×844: long words and URLs wrap, nothing scrolls sideways",
      async () => {
        await page.getByLabel("Message", { exact: true }).fill(LONG_WORD);
        await page.getByRole("button", { name: "Send" }).click();
        await request(bob, "sendMessage", { receiverId: "alice", text: LONG_URL });
        await bubble(page, LONG_WORD).waitFor();
        await bubble(page, LONG_URL).waitFor();
        const widths = await page.evaluate(`({
        page: document.documentElement.scrollWidth - document.documentElement.clientWidth,
        history: (() => { const h = document.querySelector("#history");
          return h.scrollWidth - h.clientWidth; })(),
      })`) as { page: number; history: number };
        assertEquals(widths, { page: 0, history: 0 });
      },
    );

    await step(
      t,
      users,
      "offline, then back: the status follows, missed messages show",
      async () => {
        await phone.context.setOffline(true);
        await status.filter({ hasText: /offline|reconnecting/ }).waitFor({ timeout: 10_000 });
        assert(await page.getByRole("button", { name: "Send" }).isDisabled());
        await request(bob, "sendMessage", {
          receiverId: "alice",
          text: "sent while you were away",
        });
        await phone.context.setOffline(false);
        await status.filter({ hasText: "connected as alice" }).waitFor({ timeout: 15_000 });
        await bubble(page, "sent while you were away").waitFor();
        assert(await page.getByRole("button", { name: "Send" }).isEnabled());
      },
    );

    await step(t, users, "a reload reconnects from sessionStorage, nothing retyped", async () => {
      await page.reload();
      await status.filter({ hasText: "connected as alice" }).waitFor();
      await page.locator('#conversations li[data-user="bob"] .preview', {
        hasText: "sent while you were away",
      }).waitFor();
    });

    await step(t, users, "1280×800: the list and the chat side by side", async () => {
      await page.setViewportSize(DESKTOP);
      await page.locator('#conversations li[data-user="bob"]').click();
      await page.getByLabel("Message", { exact: true }).waitFor();
      assert(await page.locator(".sidebar").isVisible());
      assert(await page.getByRole("button", { name: "Back to conversations" }).isHidden());
    });

    await step(t, users, "no console errors", () => {
      // A page that lost its network logs the failed socket requests: those are expected.
      phone.errors = phone.errors.filter((e) => !/ERR_INTERNET_DISCONNECTED|socket\.io/.test(e));
      assertNoPageErrors(users);
      return Promise.resolve();
    });
  },
});
