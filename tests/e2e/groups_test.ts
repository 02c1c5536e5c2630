/**
 * Group conversations in the web page, in Chromium, three users in three
 * browser contexts (alice on a 390×844 phone, bob and carol at 1280×800):
 * alice makes a group with the New group form, it appears in the others'
 * lists as it is made, messages carry their sender's name on the bubble, the
 * sender sees who read each message ("Read by" and its list, live), the owner
 * adds and removes people from the Members panel, anyone renames the group,
 * and a member who leaves loses the row.
 * No console errors; the phone's screen holds all of it without sideways
 * scrolling.
 */
import type { Browser, Page } from "playwright-core";
import type { ChatMessage, Group } from "../../src/protocol/types.ts";
import { assert, assertEquals } from "../helpers/assert.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import {
  assertNoPageErrors,
  bubble,
  DESKTOP,
  launch,
  openPage,
  PHONE,
  signIn,
  skipWithoutChromium,
  step,
  type UserPage,
} from "./chromium.ts";

const ignore = skipWithoutChromium("web client group tests");

/** The conversation list's row of the group named `name`. */
function groupRow(page: Page, name: string) {
  return page.locator("#conversations li.conversation.group").filter({
    has: page.locator(".name").getByText(name, { exact: true }),
  });
}

/** The stored group the page made, as its owner sees it (REST). */
async function groupNamed(server: TestServer, userId: string, name: string): Promise<Group> {
  const res = await server.api(userId, "/api/chats/conversations?limit=100");
  const rows = (await res.json()) as ({ group?: Group } & Record<string, unknown>)[];
  const group = rows.map((r) => r.group).find((g) => g?.name === name);
  if (!group) throw new Error(`no group "${name}" in ${userId}'s list: ${JSON.stringify(rows)}`);
  return group;
}

async function send(page: Page, text: string): Promise<void> {
  const field = page.getByLabel("Message", { exact: true });
  await field.fill(text);
  await field.press("Enter");
  await bubble(page, text).locator("button.read-by").waitFor();
}

/** Nothing on the page is wider than the phone's screen. */
async function assertFitsPhone(page: Page, what: string): Promise<void> {
  const width = await page.evaluate<number>("document.documentElement.scrollWidth");
  assert(width <= PHONE.width, `${what}: the page is ${width}px wide on a ${PHONE.width}px phone`);
}

Deno.test({
  name: "web client: groups: create, live rows, names on bubbles, read-by, members (Chromium)",
  ignore,
  async fn(t) {
    const server = await startTestServer();
    let browser: Browser | undefined;
    const users: UserPage[] = [];
    try {
      browser = await launch();
      const alice = await openPage(browser, server.url, "alice", PHONE);
      const bob = await openPage(browser, server.url, "bob", DESKTOP);
      const carol = await openPage(browser, server.url, "carol", DESKTOP);
      users.push(alice, bob, carol);
      for (const u of users) await signIn(u, await server.token(u.userId));
      let group: Group | undefined;

      await step(t, users, "alice makes a group on her phone; it opens for her", async () => {
        await alice.page.getByText("New group", { exact: true }).click();
        await alice.page.getByLabel("Group name").fill("Weekend trip");
        await alice.page.getByLabel("People (user ids)", { exact: true }).fill("bob, carol");
        await alice.page.getByRole("button", { name: "Create group" }).click();
        await alice.page.locator("#partnerName", { hasText: "Weekend trip" }).waitFor();
        await alice.page.locator("#partnerStatus", { hasText: "you, bob, carol" }).waitFor();
        // On the phone the chat replaced the list, and the composer is ready.
        assert(await alice.page.getByLabel("Message", { exact: true }).isEnabled());
        assert(!(await alice.page.locator("#conversations").isVisible()));
        group = await groupNamed(server, "alice", "Weekend trip");
        assertEquals(group.ownerId, "alice");
        assertEquals(group.memberIds, ["alice", "bob", "carol"]);
        await assertFitsPhone(alice.page, "the open group");
      });

      await step(t, users, "bob and carol see the group appear without reloading", async () => {
        for (const u of [bob, carol]) {
          await groupRow(u.page, "Weekend trip").waitFor();
          assertEquals(
            await groupRow(u.page, "Weekend trip").locator(".preview").innerText(),
            "No messages yet",
          );
        }
      });

      await step(t, users, "messages carry their sender's name; unread counts", async () => {
        await send(alice.page, "Who brings the tent?");
        await send(alice.page, "I have the stove");
        // carol has not opened it: two unread on her row, with alice's name on the preview.
        const carolRow = groupRow(carol.page, "Weekend trip");
        await carolRow.locator(".unread", { hasText: "2" }).waitFor();
        assertEquals(await carolRow.locator(".preview").innerText(), "alice: I have the stove");

        await groupRow(bob.page, "Weekend trip").click();
        await bob.page.locator("#partnerName", { hasText: "Weekend trip" }).waitFor();
        const tent = bubble(bob.page, "Who brings the tent?");
        await tent.waitFor();
        assertEquals(await tent.locator(".sender").innerText(), "alice");
        // The server takes no reports of group messages: the menu does not offer it.
        await tent.getByRole("button", { name: "Message actions" }).click();
        const menu = bob.page.getByRole("menu", { name: "Message actions" });
        assertEquals(await menu.locator(".menu-item:not(.menu-emoji *)").allInnerTexts(), [
          "Reply",
          "Delete for me",
        ]);
        await bob.page.keyboard.press("Escape");
        await menu.waitFor({ state: "detached" });
        assert(await tent.evaluate((li) => li.classList.contains("theirs")));
        await send(bob.page, "I do");
        // bob's own bubble needs no name; on alice's page it has his.
        assertEquals(await bubble(bob.page, "I do").locator(".sender").count(), 0);
        const onAlice = bubble(alice.page, "I do");
        await onAlice.waitFor();
        assertEquals(await onAlice.locator(".sender").innerText(), "bob");
        assertEquals(await bubble(alice.page, "I have the stove").locator(".sender").count(), 0);

        // The stored message is a group message: stored once, no receiver.
        const res = await server.api("carol", `/api/groups/${group!._id}/history?limit=50`);
        const history = (await res.json()) as ChatMessage[];
        assertEquals(history.map((m) => [m.senderId, m.text, m.groupId, m.receiverId]), [
          ["alice", "Who brings the tent?", group!._id, null],
          ["alice", "I have the stove", group!._id, null],
          ["bob", "I do", group!._id, null],
        ]);
      });

      await step(t, users, "bob typing shows on alice's page, named", async () => {
        await bob.page.getByLabel("Message", { exact: true }).fill("and the map");
        await alice.page.locator("#typing", { hasText: "bob is typing…" }).waitFor();
        await bob.page.getByLabel("Message", { exact: true }).fill("");
      });

      await step(t, users, "alice sees who read her message, live", async () => {
        const stove = bubble(alice.page, "I have the stove");
        // bob has the group open: he read both of alice's messages.
        await stove.getByRole("button", { name: "Read by 1" }).waitFor();
        await stove.getByRole("button", { name: "Read by 1" }).click();
        const dialog = alice.page.getByRole("dialog", { name: "Read by" });
        await dialog.waitFor();
        assertEquals(await dialog.locator(".read-by-entry .name").allInnerTexts(), ["bob"]);
        await dialog.getByText("Not read yet: carol").waitFor();
        const box = await dialog.boundingBox();
        assert(box && box.x >= 0 && box.x + box.width <= PHONE.width, `at ${JSON.stringify(box)}`);

        // carol opens the group while alice's list is open: it follows.
        await groupRow(carol.page, "Weekend trip").click();
        await bubble(carol.page, "I do").waitFor();
        assertEquals(
          await bubble(carol.page, "Who brings the tent?").locator(".sender").innerText(),
          "alice",
        );
        await dialog.locator('.read-by-entry[data-user="carol"]').waitFor();
        assertEquals(await dialog.locator(".read-by-entry .name").allInnerTexts(), [
          "bob",
          "carol",
        ]);
        assert(await dialog.locator(".read-by-waiting").isHidden());
        await alice.page.keyboard.press("Escape");
        await dialog.waitFor({ state: "hidden" });
        await stove.getByRole("button", { name: "Read by all" }).waitFor();
        await bubble(alice.page, "Who brings the tent?")
          .getByRole("button", { name: "Read by all" }).waitFor();
        // The server agrees: both read it.
        const stored = (await (await server.api(
          "alice",
          `/api/groups/${group!._id}/history?limit=50`,
        )).json()) as ChatMessage[];
        const stoveId = stored.find((m) => m.text === "I have the stove")!._id;
        const reads = await (await server.api(
          "alice",
          `/api/groups/${group!._id}/messages/${stoveId}/reads`,
        )).json() as { reads: { userId: string }[] };
        assertEquals(reads.reads.map((r) => r.userId).sort(), ["bob", "carol"]);
        // carol read everything: her row has no unread count left.
        await groupRow(carol.page, "Weekend trip").locator(".unread").waitFor({ state: "hidden" });
      });

      await step(t, users, "the owner adds and removes people; anyone renames", async () => {
        await alice.page.getByRole("button", { name: "Members", exact: true }).click();
        const panel = alice.page.getByRole("region", { name: /Members/ });
        await panel.waitFor();
        assertEquals(await panel.locator(".group-member .owner-tag").count(), 1);
        await alice.page.getByLabel("Add people (user ids)").fill("dave");
        await alice.page.getByRole("button", { name: "Add", exact: true }).click();
        await panel.locator('.group-member[data-user="dave"]').waitFor();
        await assertFitsPhone(alice.page, "the Members panel");
        // bob's header follows (groupUpdated), and he may not add anyone (not the owner).
        await bob.page.locator("#partnerStatus", { hasText: "alice, you, carol, dave" }).waitFor();
        await bob.page.getByRole("button", { name: "Members", exact: true }).click();
        assert(await bob.page.locator("#addPeopleForm").isHidden());
        assertEquals(
          (await groupNamed(server, "bob", "Weekend trip")).memberIds,
          ["alice", "bob", "carol", "dave"],
        );
        // No Remove buttons for bob; alice's remove dave, and bob's header follows.
        assertEquals(await bob.page.locator("#groupPanel button.remove-member").count(), 0);
        await alice.page.getByRole("button", { name: "Remove dave" }).click();
        await panel.locator('.group-member[data-user="dave"]').waitFor({ state: "detached" });
        await bob.page.locator("#partnerStatus", { hasText: /^alice, you, carol$/ }).waitFor();
        await bob.page.getByLabel("Rename group").fill("Trip");
        await bob.page.getByRole("button", { name: "Rename", exact: true }).click();
        await alice.page.locator("#partnerName", { hasText: /^Trip$/ }).waitFor();
        await groupRow(carol.page, "Trip").waitFor();
        assertEquals((await groupNamed(server, "carol", "Trip")).memberIds, [
          "alice",
          "bob",
          "carol",
        ]);
      });

      await step(t, users, "carol leaves: the group goes from her page", async () => {
        await carol.page.getByRole("button", { name: "Members", exact: true }).click();
        await carol.page.getByRole("button", { name: "Leave group" }).click();
        await groupRow(carol.page, "Trip").waitFor({ state: "detached" });
        await carol.page.locator("#partnerName", { hasText: "No conversation open" }).waitFor();
        await bob.page.locator("#partnerStatus", { hasText: /^alice, you$/ }).waitFor();
        const res = await server.api("carol", `/api/groups/${group!._id}`);
        assertEquals(res.status, 403);
        await res.body?.cancel();
      });

      assertNoPageErrors(users);
    } finally {
      for (const u of users) await u.context.close().catch(() => {});
      await browser?.close();
      await server.close();
    }
  },
});
