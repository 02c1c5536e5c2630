/**
 * A host whose tokens hold the user id in a claim the page cannot guess
 * (JWT_USER_CLAIM=https://app.example/uid, no `sub`): the page learns who it
 * is from the server's `session` event, and two users chat as with any token.
 */
import { SignJWT } from "jose";
import { assertEquals } from "../helpers/assert.ts";
import { startTestServer, TEST_SECRET } from "../helpers/server.ts";
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

const CLAIM = "https://app.example/uid";

function hostToken(userId: string): Promise<string> {
  return new SignJWT({ [CLAIM]: userId, username: userId.toUpperCase() })
    .setProtectedHeader({ alg: "HS256" }).setIssuedAt().setExpirationTime("1h")
    .sign(new TextEncoder().encode(TEST_SECRET));
}

Deno.test({
  name: "web client: the user id from the server's session event, whatever claim holds it",
  ignore: skipWithoutChromium("session claim browser test"),
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    await using server = await startTestServer({ JWT_USER_CLAIM: CLAIM });
    const browser = await launch();
    const users: UserPage[] = [];
    try {
      const alice = await openPage(browser, server.url, "alice");
      const bob = await openPage(browser, server.url, "bob");
      users.push(alice, bob);

      await step(t, users, "both sign in with the host's tokens", async () => {
        await signIn(alice, await hostToken("alice"));
        await signIn(bob, await hostToken("bob"));
      });

      await step(t, users, "a message is alice's own on her page and bob's incoming", async () => {
        await openChat(alice, "bob");
        await alice.page.getByLabel("Message", { exact: true }).fill("hello from the host's id");
        await alice.page.getByRole("button", { name: "Send" }).click();
        await bubble(alice.page, "hello from the host's id").and(
          alice.page.locator(".mine"),
        ).waitFor();
        await openChat(bob, "alice");
        const incoming = bubble(bob.page, "hello from the host's id");
        await incoming.waitFor();
        assertEquals(await incoming.evaluate((el) => el.classList.contains("mine")), false);
      });
      assertNoPageErrors(users);
    } finally {
      await browser.close();
    }
  },
});
