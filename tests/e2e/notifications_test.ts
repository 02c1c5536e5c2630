/**
 * Notifications in Chromium: with permission, a message to a conversation that
 * is not open, or to a hidden page, shows a browser notification; one to the
 * open chat of a visible page does not. With VAPID keys the page registers its
 * service worker (/sw.js) for Web Push. (Subscribing needs the browser's own
 * push service, which this machine cannot reach: the subscription itself is
 * covered by tests/push_test.ts with an emulated push service.)
 */
import { request } from "../../src/protocol/client.ts";
import { generateVapidKeys } from "../../src/push/web_push_sender.ts";
import { assertEquals } from "../helpers/assert.ts";
import { waitFor } from "../helpers/events.ts";
import { startTestServer } from "../helpers/server.ts";
import {
  assertNoPageErrors,
  bubble,
  launch,
  openChat,
  openPage,
  signIn,
  skipWithoutChromium,
  step,
  type UserPage,
} from "./chromium.ts";

const ignore = skipWithoutChromium("web client notification tests");

Deno.test({
  name: "web client: browser notifications and the Web Push service worker (Chromium)",
  ignore,
  async fn(t) {
    const vapid = generateVapidKeys();
    await using server = await startTestServer({
      VAPID_PUBLIC_KEY: vapid.publicKey,
      VAPID_PRIVATE_KEY: vapid.privateKey,
      VAPID_SUBJECT: "mailto:ops@example.com",
    });
    // Declared after the server, so it closes first (with the pages' contexts).
    await using browser = await launch();
    const users: UserPage[] = [];
    const bob = await server.connect("bob");
    const alice = await openPage(browser, server.url, "alice");
    users.push(alice);
    const page = alice.page;
    await alice.context.grantPermissions(["notifications"], { origin: server.url });
    // The element announces each notification it shows (an event a host app can use too).
    await page.evaluate(`document.addEventListener("parley-notification",
      (e) => (window.shown ??= []).push(e.detail.title + ": " + e.detail.body))`);
    const shown = async () => ((await page.evaluate("window.shown ?? []")) as string[]);

    await step(
      t,
      users,
      "signed in with permission: the service worker is registered",
      async () => {
        await signIn(alice, await server.token("alice"));
        await page.getByRole("button", { name: "Notifications on" }).waitFor();
        await waitFor(
          async () =>
            await page.evaluate(
              `navigator.serviceWorker.getRegistration().then((r) => r?.active?.scriptURL ?? "")`,
            ) === `${server.url}/sw.js`,
          "the service worker to be active",
          10_000,
        );
      },
    );

    await step(t, users, "a message to a chat that is not open is notified", async () => {
      await request(bob, "sendMessage", { receiverId: "alice", text: "ping from bob" });
      await waitFor(async () => (await shown()).length === 1, "a notification");
      assertEquals(await shown(), ["bob: ping from bob"]);
    });

    await step(t, users, "the open chat of a visible page is not notified", async () => {
      await openChat(alice, "bob");
      await request(bob, "sendMessage", { receiverId: "alice", text: "you have it open" });
      await bubble(page, "you have it open").waitFor();
      await new Promise((r) => setTimeout(r, 200));
      assertEquals((await shown()).length, 1);
    });

    await step(t, users, "a hidden page is notified", async () => {
      await page.evaluate(`(() => {
        Object.defineProperty(document, "visibilityState", { value: "hidden", configurable: true });
        document.dispatchEvent(new Event("visibilitychange"));
      })()`);
      await request(bob, "sendMessage", { receiverId: "alice", text: "are you away?" });
      await waitFor(async () => (await shown()).length === 2, "a second notification");
      assertEquals((await shown())[1], "bob: are you away?");
    });

    await step(t, users, "a Web Push message shows a notification from /sw.js", async () => {
      // Delivered to the worker over DevTools, as the browser's push service would.
      const cdp = await alice.context.newCDPSession(page);
      const registrations: string[] = [];
      cdp.on("ServiceWorker.workerRegistrationUpdated", (e) => {
        for (const r of e.registrations) {
          if (!r.isDeleted && r.scopeURL === `${server.url}/`) {
            registrations.push(r.registrationId);
          }
        }
      });
      await cdp.send("ServiceWorker.enable");
      await waitFor(() => registrations.length > 0, "the worker's registration id");
      const push = () =>
        cdp.send("ServiceWorker.deliverPushMessage", {
          origin: server.url,
          registrationId: registrations.at(-1)!,
          data: JSON.stringify({
            type: "message",
            messageId: "01PUSHED",
            senderId: "carol",
            senderName: "Carol",
            createdAt: new Date().toISOString(),
          }),
        });
      const titles = () =>
        page.evaluate(
          `navigator.serviceWorker.ready.then((r) => r.getNotifications())
            .then((list) => list.map((n) => n.title + ": " + n.body))`,
        ) as Promise<string[]>;
      // A worker woken from idle may miss the first push: push again (same tag) until shown.
      let pushedAt = 0;
      await waitFor(
        async () => {
          if ((await titles()).length > 0) return true;
          if (Date.now() - pushedAt > 1000) {
            pushedAt = Date.now();
            await push();
          }
          return false;
        },
        "the pushed notification",
        10_000,
      );
      assertEquals(await titles(), ["Carol: New message"]);
      await cdp.detach();
    });

    await step(t, users, "no console errors", () => {
      // Playwright's contexts are incognito, where Chromium itself logs that it refuses
      // pushManager.subscribe(); the page falls back to in-page notifications.
      alice.errors = alice.errors.filter((e) => !e.includes("does not support the Push API"));
      assertNoPageErrors(users);
      return Promise.resolve();
    });
  },
});
