/**
 * Shared by the web client's browser tests: Debian's Chromium driven by
 * playwright-core, one browser context per user (own storage), the page's
 * console errors collected (a test ends by asserting there were none), and
 * screenshots to tests/artifacts/ when a step fails. Never downloads a browser.
 */
import { fileURLToPath } from "node:url";
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core";
import type { ChatMessage } from "../../src/protocol/types.ts";
import { assertEquals } from "../helpers/assert.ts";
import type { TestServer } from "../helpers/server.ts";

export const CHROMIUM = "/usr/bin/chromium";
export const hasChromium = await Deno.stat(CHROMIUM).then((s) => s.isFile, () => false);
export const DESKTOP = { width: 1280, height: 800 };
export const PHONE = { width: 390, height: 844 };
const ARTIFACTS = new URL("../artifacts/", import.meta.url);

export function skipWithoutChromium(what: string): boolean {
  if (!hasChromium) {
    console.warn(`SKIPPED: ${what} (${CHROMIUM} is missing; apt-get install chromium)`);
  }
  return !hasChromium;
}

export function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
}

export interface UserPage {
  userId: string;
  context: BrowserContext;
  page: Page;
  /** Console errors and uncaught exceptions of the page. */
  errors: string[];
}

export async function openPage(
  browser: Browser,
  url: string,
  userId: string,
  viewport = DESKTOP,
): Promise<UserPage> {
  const context = await browser.newContext({ viewport, locale: "en-GB" });
  context.setDefaultTimeout(5000);
  const page = await context.newPage();
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(String(e)));
  await page.goto(url);
  return { userId, context, page, errors };
}

/**
 * Signs in as a person would: the user id, and a pasted token if one is given
 * (else Connect fetches a dev token), then Connect.
 */
export async function signIn(user: UserPage, token?: string): Promise<void> {
  await user.page.getByLabel("User id", { exact: true }).fill(user.userId);
  if (token) {
    await user.page.getByText("Token", { exact: true }).click();
    await user.page.getByLabel("Token (JWT)").fill(token);
  }
  await user.page.getByRole("button", { name: "Connect" }).click();
  await user.page.locator("#status", { hasText: `connected as ${user.userId}` }).waitFor();
}

export async function openChat(user: UserPage, partnerId: string): Promise<void> {
  await user.page.getByLabel("New chat with user id").fill(partnerId);
  await user.page.getByRole("button", { name: "Open" }).click();
  await user.page.locator("#partnerName", { hasText: partnerId }).waitFor();
}

/** The message whose text is exactly `text`. */
export function bubble(page: Page, text: string) {
  return page.locator("#messages li.message").filter({
    has: page.locator("p.text").getByText(text, { exact: true }),
  });
}

/** Whether the element's box lies inside the message list's visible box. */
export async function onScreen(page: Page, text: string): Promise<boolean> {
  const box = await page.locator("#history").boundingBox();
  const item = await bubble(page, text).boundingBox();
  if (!box || !item) return false;
  return item.y >= box.y - 1 && item.y + item.height <= box.y + box.height + 1;
}

/** The user's 1:1 history with the partner as stored (REST), oldest first, up to 200. */
export async function historyOf(
  server: TestServer,
  userId: string,
  partnerId: string,
): Promise<ChatMessage[]> {
  const res = await server.api(userId, `/api/chats/history/${partnerId}?limit=200`);
  return (await res.json()) as ChatMessage[];
}

/** The stored message whose text is `text` in the user's history with the partner. */
export async function storedMessage(
  server: TestServer,
  userId: string,
  partnerId: string,
  text: string,
): Promise<ChatMessage> {
  const found = (await historyOf(server, userId, partnerId)).find((m) => m.text === text);
  if (!found) throw new Error(`no message "${text}" in ${userId}'s history`);
  return found;
}

export function assertNoPageErrors(users: UserPage[]): void {
  for (const u of users) assertEquals(u.errors, [], `console errors on ${u.userId}'s page`);
}

/** Runs `fn` as a step; on failure saves screenshots of every page first. */
export async function step(
  t: Deno.TestContext,
  users: UserPage[],
  name: string,
  fn: () => Promise<void>,
): Promise<void> {
  const passed = await t.step(name, async () => {
    try {
      await fn();
    } catch (err) {
      await Deno.mkdir(ARTIFACTS, { recursive: true });
      const slug = name.replace(/[^a-z0-9]+/gi, "-").slice(0, 60);
      for (const { userId, page } of users) {
        const path = fileURLToPath(new URL(`${slug}-${userId}.png`, ARTIFACTS));
        await page.screenshot({ path }).catch(() => {});
        console.error(`screenshot: ${path}`);
      }
      throw err;
    }
  });
  if (!passed) throw new Error(`step failed: ${name}`);
}

/**
 * A PNG of `width`×`height` pixels of one colour, made here so that a test can
 * send images that take real room on screen.
 */
export async function solidPng(width: number, height: number): Promise<Uint8Array<ArrayBuffer>> {
  const row = new Uint8Array(1 + width * 3);
  for (let x = 0; x < width; x++) row.set([40, 120, 200], 1 + x * 3);
  const raw = new Uint8Array(row.length * height);
  for (let y = 0; y < height; y++) raw.set(row, y * row.length);
  const idat = new Uint8Array(
    await new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream("deflate")))
      .arrayBuffer(),
  );
  const ihdr = new Uint8Array(13);
  const view = new DataView(ihdr.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8);
  return concat([
    new Uint8Array([137, 80, 78, 71, 13, 10, 26, 10]),
    chunk("IHDR", ihdr),
    chunk("IDAT", idat),
    chunk("IEND", new Uint8Array()),
  ]);
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  out.set(new TextEncoder().encode(type), 4);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

function concat(parts: Uint8Array[]): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
