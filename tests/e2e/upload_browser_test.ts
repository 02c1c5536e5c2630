/**
 * The test page's file attachment in Debian's Chromium: Alice picks a real
 * file, it is uploaded and sent, and Bob sees a preview and downloads the
 * same bytes (both fetched with his token). Skipped when /usr/bin/chromium is
 * missing, like tests/e2e/browser_test.ts.
 */
import { Buffer } from "node:buffer";
import { fileURLToPath } from "node:url";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { assert, assertEquals } from "../helpers/assert.ts";
import { waitFor } from "../helpers/events.ts";
import { PNG } from "../helpers/files.ts";
import { startTestServer } from "../helpers/server.ts";
import { tempDir } from "../helpers/temp_dir.ts";
import { hasChromium, launch } from "./chromium.ts";

const ARTIFACTS = new URL("../artifacts/", import.meta.url);

async function signedIn(browser: Browser, url: string, userId: string) {
  const context: BrowserContext = await browser.newContext({ acceptDownloads: true });
  context.setDefaultTimeout(5000);
  const page: Page = await context.newPage();
  await page.goto(url);
  await page.fill("#userId", userId);
  await page.click("#connectBtn");
  await page.locator("#status", { hasText: `connected as ${userId}` }).waitFor();
  return { context, page };
}

Deno.test({
  name: "test page: a picked file is uploaded, sent, previewed and downloaded in Chromium",
  ignore: !hasChromium,
  async fn() {
    // Closed in reverse: the browser, the server, then the upload directory.
    await using uploads = await tempDir("parley-e2e-uploads-");
    await using server = await startTestServer({ JWT_SECRET: "", UPLOAD_DIR: uploads.path });
    await using browser = await launch();
    const pages: Page[] = [];
    try {
      const alice = await signedIn(browser, server.url, "alice");
      const bob = await signedIn(browser, server.url, "bob");
      pages.push(alice.page, bob.page);

      await alice.page.fill("#partnerId", "bob");
      await alice.page.press("#partnerId", "Enter");
      await alice.page.locator("#partnerName", { hasText: "bob" }).waitFor();
      await alice.page.setInputFiles("#fileInput", {
        name: "dot.png",
        mimeType: "image/png",
        buffer: Buffer.from(PNG),
      });
      await alice.page.fill("#messageText", "a picture");
      await alice.page.click("#sendBtn");

      const sent = alice.page.locator("#messages li.message", { hasText: "a picture" });
      await sent.locator("a.file-link", { hasText: "dot.png" }).waitFor();
      await sent.locator(".file-meta", { hasText: "image, 70 B" }).waitFor();
      assertEquals(await alice.page.inputValue("#fileInput"), "");

      await bob.page.locator('#conversations li[data-user="alice"]').click();
      const received = bob.page.locator("#messages li.message", { hasText: "a picture" });
      const link = received.locator("a.file-link", { hasText: "dot.png" });
      await link.waitFor();
      assert((await link.getAttribute("href"))?.startsWith(`${server.url}/api/uploads/`));
      // The preview is a blob: URL of the bytes fetched with Bob's token.
      const preview = received.locator("img.file-preview");
      await preview.waitFor();
      assert((await preview.getAttribute("src"))?.startsWith("blob:"));
      // 1: the PNG decoded. A string expression keeps DOM types out of the test's types;
      // page.evaluate() runs it over the DevTools protocol, which the page's CSP does not
      // restrict (waitForFunction() with a string compiles it in the page, which the CSP can).
      await waitFor(
        async () =>
          await bob.page.evaluate(
            `document.querySelector("#messages img.file-preview")?.naturalWidth`,
          ) === 1,
        "the preview to decode",
      );
      const [download] = await Promise.all([bob.page.waitForEvent("download"), link.click()]);
      assertEquals(download.suggestedFilename(), "dot.png");
      const path = await download.path();
      assertEquals(await Deno.readFile(path), PNG);
    } catch (err) {
      await Deno.mkdir(ARTIFACTS, { recursive: true });
      for (const [i, page] of pages.entries()) {
        const path = fileURLToPath(new URL(`upload-browser-${i}.png`, ARTIFACTS));
        await page.screenshot({ path, fullPage: true }).catch(() => {});
      }
      throw err;
    }
  },
});
