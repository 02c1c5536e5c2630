/**
 * /docs in a real browser (Debian's Chromium driven by playwright-core): Swagger
 * UI renders every operation of /openapi.json under the app's CSP, with no
 * request leaving the server and nothing refused by the policy.
 *
 * Skipped (with a visible SKIPPED line) when /usr/bin/chromium is missing; CI
 * installs it with apt.
 */
import { chromium } from "playwright-core";
import { assert, assertEquals } from "../helpers/assert.ts";
import { startTestServer } from "../helpers/server.ts";
import { CHROMIUM, hasChromium } from "./chromium.ts";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

if (!hasChromium) {
  console.warn(`SKIPPED: /docs browser test (${CHROMIUM} is missing; apt-get install chromium)`);
}

Deno.test({
  name: "/docs: Swagger UI renders the API in Chromium under the CSP, from this server only",
  ignore: !hasChromium,
  async fn() {
    // Dev mode, so that the document has every operation, POST /api/dev/token included.
    await using server = await startTestServer({ JWT_SECRET: "" });
    // Declared after the server, so it closes first.
    await using browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
    });
    const page = await browser.newPage();
    page.setDefaultTimeout(10_000);
    const problems: string[] = [];
    const requested: string[] = [];
    page.on("console", (message) => {
      if (message.type() === "error") problems.push(message.text());
    });
    page.on("pageerror", (err) => problems.push(err.message));
    page.on("request", (request) => requested.push(request.url()));

    await page.goto(`${server.url}/docs`);
    const documented = await fetch(`${server.url}/openapi.json`).then((r) => r.json());
    const operations = Object.values(documented.paths as Record<string, object>)
      .reduce((n, methods) => n + Object.keys(methods).length, 0);
    // Polled through the locator: a waitForFunction() string is eval'ed, which the CSP forbids.
    const deadline = Date.now() + 10_000;
    while (await page.locator(".opblock").count() !== operations) {
      if (Date.now() > deadline) throw new Error("the operations did not all render");
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert(
      await page.locator(".opblock-summary-path", { hasText: "/api/chats/my-chats" }).count(),
    );
    assert(await page.locator("button.authorize").count(), "the Bearer scheme's Authorize");

    assertEquals(problems, [], "no console errors (CSP refusals are logged there)");
    const elsewhere = requested.filter((url) =>
      !url.startsWith(server.url) && !url.startsWith("data:")
    );
    assertEquals(elsewhere, [], "no request to another host");
  },
});
