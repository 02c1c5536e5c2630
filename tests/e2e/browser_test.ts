/**
 * The test page in a real browser: Debian's Chromium driven by playwright-core,
 * two users in two isolated browser contexts against a dev-mode server.
 *
 * Skipped (with a visible SKIPPED line) when /usr/bin/chromium is missing; CI
 * installs it with apt. Never downloads a browser. On failure, screenshots of
 * both pages go to tests/artifacts/. With UPDATE_SCREENSHOT=1 it also rewrites
 * docs/screenshot.png, the picture in the README.
 */
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import { assertEquals } from "../helpers/assert.ts";
import { startTestServer, type TestServer } from "../helpers/server.ts";
import { CHROMIUM, hasChromium } from "./chromium.ts";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const VIEWPORT = { width: 1000, height: 650 };
/** Every DOM wait gives up after this long; the whole test takes a few seconds. */
const WAIT_MS = 5000;
const ARTIFACTS = new URL("../artifacts/", import.meta.url);
const SCREENSHOT = fileURLToPath(new URL("../../docs/screenshot.png", import.meta.url));

if (!hasChromium) {
  console.warn(
    `SKIPPED: browser end-to-end test (${CHROMIUM} is missing; apt-get install chromium)`,
  );
}

/** One user's page in its own browser context (own cookies and storage). */
interface UserPage {
  userId: string;
  context: BrowserContext;
  page: Page;
}

async function openUserPage(browser: Browser, url: string, userId: string): Promise<UserPage> {
  const context = await browser.newContext({ viewport: VIEWPORT, locale: "en-GB" });
  context.setDefaultTimeout(WAIT_MS);
  const page = await context.newPage();
  await page.goto(url);
  return { userId, context, page };
}

/** Signs in as a person would: user id, then Connect (which fetches a dev token when needed). */
async function signIn({ page, userId }: UserPage, { tokenFirst = false } = {}): Promise<void> {
  await page.fill("#userId", userId);
  if (tokenFirst) {
    await page.getByText("Token", { exact: true }).click();
    await page.click("#devTokenBtn");
    // Polled through the locator: a waitForFunction() string would be eval'ed in the page,
    // which its CSP forbids.
    const deadline = Date.now() + 10_000;
    while ((await page.locator("#token").inputValue()).split(".").length !== 3) {
      if (Date.now() > deadline) throw new Error("no dev token appeared");
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }
  await page.click("#connectBtn");
  await page.locator("#status", { hasText: `connected as ${userId}` }).waitFor();
}

function bubble(page: Page, text: string) {
  return page.locator("#messages li.message", { hasText: text });
}

function convRow(page: Page, partnerId: string) {
  return page.locator(`#conversations li[data-user="${partnerId}"]`);
}

async function waitHidden(page: Page, selector: string): Promise<void> {
  await page.locator(selector).waitFor({ state: "hidden" });
}

Deno.test({
  name:
    "test page: two users chat in Chromium (presence, typing, files, receipts, history, delete)",
  ignore: !hasChromium,
  async fn(t) {
    // Dev mode (no JWT_SECRET): the page's "Get dev token" and Connect work as for a person.
    await using server: TestServer = await startTestServer({ JWT_SECRET: "" });
    const pages: UserPage[] = [];
    const step = async (name: string, fn: () => Promise<void>) => {
      const passed = await t.step(name, async () => {
        try {
          await fn();
        } catch (err) {
          await saveFailureScreenshots(pages, name);
          throw err;
        }
      });
      if (!passed) throw new Error(`step failed: ${name}`);
    };

    // launch() gives Chromium a fresh temporary profile (user-data dir), removed on close;
    // declared after the server, so it closes first (with the pages' contexts).
    await using browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    const alice = await openUserPage(browser, server.url, "alice");
    const bob = await openUserPage(browser, server.url, "bob");
    pages.push(alice, bob);

    await step("both users connect with dev tokens", async () => {
      await signIn(alice, { tokenFirst: true });
      await signIn(bob);
    });

    await step(
      "alice starts a chat; presence is unknown until they share a conversation",
      async () => {
        await alice.page.fill("#partnerId", "bob");
        await alice.page.press("#partnerId", "Enter");
        await alice.page.locator("#partnerName", { hasText: "bob" }).waitFor();
        await alice.page.locator("#partnerStatus", { hasText: "presence unknown" }).waitFor();
        await alice.page.locator("#messagesEmpty", { hasText: "No messages yet" }).waitFor();
      },
    );

    await step(
      "a message sent with Enter is delivered, unread for bob, and both see each other online",
      async () => {
        await alice.page.fill("#messageText", "Hi Bob, lunch at noon?");
        await alice.page.press("#messageText", "Enter");
        // Bob's page acknowledges it on arrival, before he opens the conversation.
        await bubble(alice.page, "Hi Bob, lunch at noon?")
          .locator(".ticks[data-state=delivered]").waitFor();
        assertEquals(await alice.page.inputValue("#messageText"), "");

        const row = convRow(bob.page, "alice");
        await row.locator(".unread", { hasText: "1" }).waitFor();
        await row.locator(".preview", { hasText: "Hi Bob, lunch at noon?" }).waitFor();
        await row.locator(".dot.online").waitFor();
        await alice.page.locator("#partnerStatus.online", { hasText: "online" }).waitFor();
        await convRow(alice.page, "bob").locator(".dot.online").waitFor();
      },
    );

    await step("bob opens the conversation: badge clears, alice's tick turns read", async () => {
      await convRow(bob.page, "alice").click();
      await bubble(bob.page, "Hi Bob, lunch at noon?").waitFor();
      await waitHidden(bob.page, '#conversations li[data-user="alice"] .unread');
      await bubble(alice.page, "Hi Bob, lunch at noon?").locator(".ticks[data-state=read]")
        .waitFor();
      await bob.page.locator("#partnerStatus.online", { hasText: "online" }).waitFor();
    });

    await step("typing shows on the other page and clears when the text is cleared", async () => {
      await alice.page.locator("#messageText").pressSequentially("Sure");
      await bob.page.locator("#typing", { hasText: "alice is typing…" }).waitFor();
      await alice.page.fill("#messageText", "");
      await waitHidden(bob.page, "#typing");
    });

    await step("a file-metadata message arrives as a link with type and size", async () => {
      await alice.page.getByText("Attach by URL").click();
      await alice.page.fill("#fileUrl", "https://files.example.com/menu.pdf");
      await alice.page.fill("#fileName", "menu.pdf");
      await alice.page.selectOption("#fileType", "document");
      await alice.page.fill("#fileSize", "2048");
      await alice.page.click("#sendBtn");
      const link = bubble(bob.page, "menu.pdf").locator("a.file-link");
      await link.waitFor();
      assertEquals(await link.getAttribute("href"), "https://files.example.com/menu.pdf");
      await bubble(bob.page, "menu.pdf").locator(".file-meta", { hasText: "document, 2.0 KB" })
        .waitFor();
      // Bob has the conversation open, so it is read at once.
      await bubble(alice.page, "menu.pdf").locator(".ticks[data-state=read]").waitFor();
      assertEquals(await alice.page.inputValue("#fileUrl"), "");
    });

    await step(
      "bob replies: alice sees him typing, then the message, and the typing clears",
      async () => {
        await bob.page.locator("#messageText").pressSequentially("Noon works");
        await alice.page.locator("#typing", { hasText: "bob is typing…" }).waitFor();
        await bob.page.press("#messageText", "Enter");
        await bubble(alice.page, "Noon works").waitFor();
        await waitHidden(alice.page, "#typing");
        await bubble(bob.page, "Noon works").locator(".ticks[data-state=read]").waitFor();
      },
    );

    if (Deno.env.get("UPDATE_SCREENSHOT") === "1") {
      await step("docs/screenshot.png: alice's page while bob types", async () => {
        await bob.page.locator("#messageText").pressSequentially("See you");
        await alice.page.locator("#typing", { hasText: "bob is typing…" }).waitFor();
        await alice.page.screenshot({ path: SCREENSHOT });
        console.log(`wrote ${SCREENSHOT}`);
        await bob.page.fill("#messageText", "");
        await waitHidden(alice.page, "#typing");
      });
    }

    await step(
      "after a reload, bob is connected again and his history comes back in order",
      async () => {
        await bob.page.reload();
        await bob.page.locator("#status", { hasText: "connected as bob" }).waitFor();
        await convRow(bob.page, "alice").locator(".preview", { hasText: "Noon works" }).waitFor();
        await convRow(bob.page, "alice").click();
        await bubble(bob.page, "Noon works").waitFor();
        const texts = await bob.page.locator("#messages li.message .bubble").allInnerTexts();
        assertEquals(texts.map((s) => s.replace(/\s+/g, " ").trim()), [
          "Hi Bob, lunch at noon?",
          "📎 menu.pdf (document, 2.0 KB)",
          "Noon works",
        ]);
      },
    );

    await step("alice deletes her first message and it disappears on both pages", async () => {
      await bubble(alice.page, "Hi Bob, lunch at noon?").locator("button.delete").click();
      await bubble(alice.page, "Hi Bob, lunch at noon?").waitFor({ state: "detached" });
      await bubble(bob.page, "Hi Bob, lunch at noon?").waitFor({ state: "detached" });
      assertEquals(await bob.page.locator("#messages li.message").count(), 2);
    });

    await step("closing bob's page shows him offline to alice", async () => {
      await bob.context.close();
      pages.splice(pages.indexOf(bob), 1);
      await alice.page.locator("#partnerStatus.offline", { hasText: "offline" }).waitFor();
      await convRow(alice.page, "bob").locator(".dot.offline").waitFor();
    });

    await step("no errors were shown to alice", async () => {
      assertEquals(await alice.page.locator("#toast").isHidden(), true);
    });
  },
});

async function saveFailureScreenshots(pages: UserPage[], step: string): Promise<void> {
  await Deno.mkdir(ARTIFACTS, { recursive: true });
  const slug = step.replace(/[^a-z0-9]+/gi, "-").slice(0, 60);
  for (const { userId, page } of pages) {
    const path = fileURLToPath(new URL(`browser-${slug}-${userId}.png`, ARTIFACTS));
    await page.screenshot({ path, fullPage: true }).then(
      () => console.error(`screenshot: ${path}`),
      (err) => console.error(`screenshot of ${userId} failed: ${err}`),
    );
  }
}
