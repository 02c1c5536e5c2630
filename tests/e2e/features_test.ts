/**
 * What people expect of a chat today, in Chromium, two users in two browser
 * contexts (alice on a 390×844 phone, bob at 1280×800): reactions (picker and
 * toggle, counts live on both pages), replies (a quote above the composer and
 * on the message, a click jumps to the original, a deleted original shows
 * "deleted message"), edits ("edited", live), search (a result opens its
 * conversation), mute (shown in the list), report (reason and note), delete
 * for me, and block (the composer says why; the other side's sends fail).
 * Menus and dialogs close with Escape; no console errors.
 */
import type { Locator, Page } from "playwright-core";
import type { ChatMessage, ConversationRow } from "../../src/protocol/types.ts";
import { assert, assertEquals, assertMatch } from "../helpers/assert.ts";
import { waitFor } from "../helpers/events.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import {
  assertNoPageErrors,
  bubble,
  DESKTOP,
  historyOf,
  launch,
  openChat,
  openPage,
  PHONE,
  signIn,
  skipWithoutChromium,
  step,
  storedMessage,
  type UserPage,
} from "./chromium.ts";

const ignore = skipWithoutChromium("web client feature tests");

/** Opens the "Message actions" menu of the message whose text is `text`. */
async function menuOf(page: Page, text: string) {
  await bubble(page, text).getByRole("button", { name: "Message actions" }).click();
  const menu = page.getByRole("menu", { name: "Message actions" });
  await menu.waitFor();
  return menu;
}

function stored(server: TestServer, text: string): Promise<ChatMessage> {
  return storedMessage(server, "bob", "alice", text);
}

/** Whether the element has the keyboard focus (in its document or shadow root). */
function focused(locator: Locator): Promise<boolean> {
  return locator.evaluate((el) =>
    el === (el.getRootNode() as unknown as { activeElement: unknown }).activeElement
  );
}

/** The reaction chips under a message, as their visible text ("👍 2"). */
async function chips(page: Page, text: string): Promise<string[]> {
  return await bubble(page, text).locator(".reactions button").allInnerTexts();
}

Deno.test({
  name:
    "web client: reactions, replies, edits, search, mute, report, delete for me, block (Chromium)",
  ignore,
  async fn(t) {
    await using server = await startTestServer();
    // Declared after the server, so it closes first (with the pages' contexts).
    await using browser = await launch();
    const users: UserPage[] = [];
    const alice = await openPage(browser, server.url, "alice", PHONE);
    const bob = await openPage(browser, server.url, "bob", DESKTOP);
    users.push(alice, bob);
    await signIn(alice, await server.token("alice"));
    await signIn(bob, await server.token("bob"));
    await openChat(bob, "alice");
    const bobText = bob.page.getByLabel("Message", { exact: true });
    await bobText.fill("lunch at noon?");
    await bobText.press("Enter");
    await bobText.fill("the menu has soup");
    await bobText.press("Enter");
    await openChat(alice, "bob");
    await bubble(alice.page, "the menu has soup").waitFor();

    await step(t, users, "the actions menu opens by keyboard and Escape closes it", async () => {
      const trigger = bubble(alice.page, "lunch at noon?").getByRole("button", {
        name: "Message actions",
      });
      await trigger.focus();
      await alice.page.keyboard.press("Enter");
      const menu = alice.page.getByRole("menu", { name: "Message actions" });
      await menu.waitFor();
      assertEquals(await trigger.getAttribute("aria-expanded"), "true");
      // All of it on the phone's screen.
      const box = await menu.boundingBox();
      assert(
        box && box.x >= 0 && box.x + box.width <= PHONE.width,
        `menu at ${JSON.stringify(box)}`,
      );
      // The focus is in the menu, and the arrow keys move it.
      assert(
        await focused(menu.getByRole("menuitem", { name: "React with 👍" })),
      );
      await alice.page.keyboard.press("ArrowRight");
      assert(
        await focused(menu.getByRole("menuitem", { name: "React with ❤️" })),
      );
      // Someone else's message: reply, delete for me, report; no edit, no delete for everyone.
      const items = await menu.locator(".menu-item:not(.menu-emoji *)").allInnerTexts();
      assertEquals(items, ["Reply", "Delete for me", "Report"]);
      await alice.page.keyboard.press("Escape");
      await menu.waitFor({ state: "detached" });
      assertEquals(await trigger.getAttribute("aria-expanded"), "false");
      assert(await focused(trigger));
    });

    await step(t, users, "a reaction is picked, counted on both pages, and toggled", async () => {
      await (await menuOf(alice.page, "lunch at noon?"))
        .getByRole("menuitem", { name: "React with 👍" }).click();
      await waitFor(
        async () => (await chips(bob.page, "lunch at noon?")).join() === "👍 1",
        "bob sees 👍 1",
      );
      const aliceChip = bubble(alice.page, "lunch at noon?").getByRole("button", {
        name: "👍 1 reaction, yours",
      });
      assertEquals(await aliceChip.getAttribute("aria-pressed"), "true");
      // Bob adds his by the chip; both see 2.
      const bobChip = bubble(bob.page, "lunch at noon?").getByRole("button", { name: /^👍 1/ });
      assertEquals(await bobChip.getAttribute("aria-pressed"), "false");
      await bobChip.click();
      await waitFor(
        async () => (await chips(alice.page, "lunch at noon?")).join() === "👍 2",
        "alice sees 👍 2",
      );
      await waitFor(
        async () => (await chips(bob.page, "lunch at noon?")).join() === "👍 2",
        "bob sees 👍 2",
      );
      // Alice takes hers off again with her chip.
      await bubble(alice.page, "lunch at noon?").getByRole("button", { name: /^👍 2/ }).click();
      await waitFor(
        async () => (await chips(bob.page, "lunch at noon?")).join() === "👍 1",
        "bob sees 👍 1 again",
      );
      assertEquals(
        (await stored(server, "lunch at noon?")).reactions,
        [{ emoji: "👍", userIds: ["bob"] }],
      );
    });

    await step(
      t,
      users,
      "a reply quotes the message above the composer and on the message",
      async () => {
        await (await menuOf(alice.page, "lunch at noon?")).getByRole("menuitem", {
          name: "Reply",
        })
          .click();
        const context = alice.page.locator("#composeContext");
        await context.getByText("Replying to bob").waitFor();
        await context.getByText("lunch at noon?").waitFor();
        const text = alice.page.getByLabel("Message", { exact: true });
        assert(await focused(text));
        await text.fill("yes, see you there");
        await text.press("Enter");
        await context.waitFor({ state: "hidden" });
        for (const page of [alice.page, bob.page]) {
          await bubble(page, "yes, see you there").getByRole("button", {
            name: /lunch at noon\?/,
          })
            .waitFor();
        }
        const reply = await stored(server, "yes, see you there");
        assertEquals(reply.replyTo?._id, (await stored(server, "lunch at noon?"))._id);
      },
    );

    await step(t, users, "clicking the quote jumps to the original", async () => {
      // Bob scrolls away first: the jump has to bring the original into view.
      await bob.page.locator("#history").evaluate((box) => box.scrollTop = box.scrollHeight);
      await bubble(bob.page, "yes, see you there").getByRole("button", { name: /lunch at noon/ })
        .click();
      const original = bubble(bob.page, "lunch at noon?");
      await bob.page.locator("#messages li.message.highlight", { hasText: "lunch at noon?" })
        .waitFor();
      assert(
        await focused(original),
      );
    });

    await step(t, users, "an edit changes the text on both pages and says edited", async () => {
      // A reply being written is replaced by the edit, and Escape cancels a reply.
      await (await menuOf(alice.page, "the menu has soup")).getByRole("menuitem", {
        name: "Reply",
      })
        .click();
      const text = alice.page.getByLabel("Message", { exact: true });
      await text.press("Escape");
      await alice.page.locator("#composeContext").waitFor({ state: "hidden" });

      const menu = await menuOf(alice.page, "yes, see you there");
      const items = await menu.locator(".menu-item:not(.menu-emoji *)").allInnerTexts();
      assertEquals(items, ["Reply", "Edit", "Delete for me", "Delete for everyone"]);
      await menu.getByRole("menuitem", { name: "Edit" }).click();
      await alice.page.locator("#composeContext").getByText("Editing message").waitFor();
      assertEquals(await text.inputValue(), "yes, see you there");
      await alice.page.getByRole("button", { name: "Save" }).waitFor();
      await text.fill("yes, at half past twelve");
      await text.press("Enter");
      for (const page of [alice.page, bob.page]) {
        const edited = bubble(page, "yes, at half past twelve");
        await edited.locator(".edited", { hasText: "edited" }).waitFor();
        await edited.getByRole("button", { name: /lunch at noon/ }).waitFor();
      }
      assertEquals(await bubble(bob.page, "yes, see you there").count(), 0);
      await alice.page.getByRole("button", { name: "Send" }).waitFor();
      assertEquals(await text.inputValue(), "");
      // Bob's conversation list shows the new text.
      await bob.page.locator('#conversations li[data-user="alice"] .preview', {
        hasText: "yes, at half past twelve",
      }).waitFor();
      assert((await stored(server, "yes, at half past twelve")).editedAt);
    });

    await step(
      t,
      users,
      "a quoted message deleted for everyone shows as deleted message",
      async () => {
        await bubble(bob.page, "lunch at noon?").getByRole("button", { name: "Delete message" })
          .click();
        for (const page of [alice.page, bob.page]) {
          await bubble(page, "lunch at noon?").waitFor({ state: "detached" });
          await bubble(page, "yes, at half past twelve").locator(".quote.deleted", {
            hasText: "deleted message",
          }).waitFor();
        }
        // As the server says it too: a fresh load shows the same.
        await alice.page.reload();
        await alice.page.locator("#status", { hasText: "connected as alice" }).waitFor();
        await alice.page.locator('#conversations li[data-user="bob"]').click();
        await bubble(alice.page, "yes, at half past twelve").locator(".quote.deleted", {
          hasText: "deleted message",
        }).waitFor();
        await bubble(alice.page, "yes, at half past twelve").locator(".edited").waitFor();
      },
    );

    await step(
      t,
      users,
      "search lists matches; a result opens its conversation there",
      async () => {
        await alice.page.getByRole("button", { name: "Back to conversations" }).click();
        const box = alice.page.getByRole("searchbox", { name: "Search messages" });
        await box.fill("SOUP");
        await box.press("Enter");
        const results = alice.page.getByRole("list", { name: "Search results" });
        const result = results.getByRole("button", { name: /the menu has soup/ });
        await result.waitFor();
        assertEquals(await results.getByRole("button").count(), 1);
        await alice.page.locator("#searchStatus", { hasText: "1 message" }).waitFor();
        await result.click();
        await alice.page.locator("#partnerName", { hasText: "bob" }).waitFor();
        await alice.page.locator("#messages li.message.highlight", {
          hasText: "the menu has soup",
        })
          .waitFor();
        // Nothing found says so; Escape clears the search.
        await alice.page.getByRole("button", { name: "Back to conversations" }).click();
        await box.fill("nothing like this");
        await box.press("Enter");
        await alice.page.locator("#searchStatus", { hasText: "No messages" }).waitFor();
        await box.press("Escape");
        assertEquals(await box.inputValue(), "");
        await results.waitFor({ state: "hidden" });
      },
    );

    await step(t, users, "mute is a header toggle, shown in the conversation list", async () => {
      await alice.page.locator('#conversations li[data-user="bob"]').click();
      await alice.page.getByRole("button", { name: "Mute" }).click();
      await alice.page.getByRole("button", { name: "Unmute" }).waitFor();
      const rows = (await (await server.api("alice", "/api/chats/conversations"))
        .json()) as ConversationRow[];
      assertEquals(rows.find((r) => r.user._id === "bob")?.muted, true);
      await alice.page.getByRole("button", { name: "Back to conversations" }).click();
      await alice.page.locator('#conversations li[data-user="bob"] .conv-flags', {
        hasText: "muted",
      })
        .waitFor();
      await alice.page.locator('#conversations li[data-user="bob"]').click();
      await alice.page.getByRole("button", { name: "Unmute" }).click();
      await alice.page.getByRole("button", { name: "Mute" }).waitFor();
      await alice.page.locator('#conversations li[data-user="bob"] .conv-flags').waitFor({
        state: "hidden",
      });
    });

    await step(t, users, "a received message is reported with a reason and a note", async () => {
      await (await menuOf(alice.page, "the menu has soup")).getByRole("menuitem", {
        name: "Report",
      })
        .click();
      const dialog = alice.page.getByRole("dialog", { name: "Report message" });
      await dialog.waitFor();
      await alice.page.keyboard.press("Escape");
      await dialog.waitFor({ state: "hidden" });
      await (await menuOf(alice.page, "the menu has soup")).getByRole("menuitem", {
        name: "Report",
      })
        .click();
      await dialog.getByRole("radio", { name: "Harassment" }).check();
      await dialog.getByLabel("Note").fill("not about lunch");
      await dialog.getByRole("button", { name: "Submit report" }).click();
      await dialog.waitFor({ state: "hidden" });
      await bubble(alice.page, "the menu has soup").locator(".reported", { hasText: "reported" })
        .waitFor();
      // Stored once: a repeat answers the first report (200), with its reason and note.
      const id = (await stored(server, "the menu has soup"))._id;
      const again = await server.api("alice", `/api/chats/${id}/report`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ reason: "spam" }),
      });
      assertEquals(again.status, 200);
      const report = (await again.json()) as { reason: string; note: string | null };
      assertEquals([report.reason, report.note], ["harassment", "not about lunch"]);
    });

    await step(t, users, "delete for me hides it from this user only", async () => {
      await (await menuOf(alice.page, "the menu has soup"))
        .getByRole("menuitem", { name: "Delete for me" }).click();
      await bubble(alice.page, "the menu has soup").waitFor({ state: "detached" });
      await bubble(bob.page, "the menu has soup").waitFor();
      const mine = await historyOf(server, "alice", "bob");
      assert(!mine.some((m) => m.text === "the menu has soup"));
    });

    await step(
      t,
      users,
      "block: the composer says why, the other side cannot send; unblock",
      async () => {
        await alice.page.getByRole("button", { name: "Block" }).click();
        await alice.page.getByRole("button", { name: "Unblock" }).waitFor();
        const note = alice.page.locator("#blockedNote");
        await note.getByText("You blocked bob").waitFor();
        const text = alice.page.getByLabel("Message", { exact: true });
        assert(await text.isDisabled());
        assertMatch((await text.getAttribute("placeholder")) ?? "", /^Unblock to send messages$/);
        // Bob's send is refused, and says so.
        await bobText.fill("hello?");
        await bobText.press("Enter");
        const failed = bubble(bob.page, "hello?");
        await failed.getByRole("button", { name: "failed — retry" }).waitFor();
        await bob.page.getByRole("alert").getByText(/You cannot message this user/).waitFor();
        await alice.page.getByRole("button", { name: "Back to conversations" }).click();
        await alice.page.locator('#conversations li[data-user="bob"] .conv-flags', {
          hasText: "blocked",
        }).waitFor();
        await alice.page.locator('#conversations li[data-user="bob"]').click();
        // A new reaction is refused too, in one toast that names what failed.
        await (await menuOf(alice.page, "yes, at half past twelve"))
          .getByRole("menuitem", { name: "React with ❤️" }).click();
        await alice.page.getByRole("alert").getByText(
          "Reacting: You cannot message this user (FORBIDDEN)",
        ).waitFor();
        assertEquals(await chips(alice.page, "yes, at half past twelve"), []);
        await alice.page.keyboard.press("Escape");
        await alice.page.getByRole("alert").waitFor({ state: "hidden" });
        await alice.page.getByRole("button", { name: "Unblock" }).click();
        await alice.page.getByRole("button", { name: "Block" }).waitFor();
        await note.waitFor({ state: "hidden" });
        assert(await text.isEnabled());
        await failed.getByRole("button", { name: "failed — retry" }).click();
        await bubble(alice.page, "hello?").waitFor();
      },
    );

    await step(t, users, "nothing overflows the phone's width", async () => {
      const overflow = await alice.page.evaluate(
        "document.documentElement.scrollWidth - document.documentElement.clientWidth",
      );
      assertEquals(overflow, 0);
    });

    await step(t, users, "no console errors", () => {
      assertNoPageErrors(users);
      return Promise.resolve();
    });
  },
});
