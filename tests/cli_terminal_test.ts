/**
 * The terminal client in a real pseudo-terminal (tmux): a prompt naming the
 * open chat, an incoming message printed above a half-typed line without
 * breaking it, `typing` sent while typing, the messages missed while away under
 * a heading with their count, Ctrl-C leaving cleanly. Skipped (SKIPPED line)
 * without tmux; CI has it from Debian.
 */
import { fileURLToPath } from "node:url";
import { request } from "../src/protocol/client.ts";
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { collect, nextEvent, waitFor } from "./helpers/events.ts";
import { startTestServer } from "./helpers/server.ts";

const REPO = fileURLToPath(new URL("../", import.meta.url));
const TMUX = "/usr/bin/tmux";
const hasTmux = await Deno.stat(TMUX).then((s) => s.isFile, () => false);
if (!hasTmux) console.warn(`SKIPPED: terminal CLI test (${TMUX} is missing; apt-get install tmux)`);

/**
 * A tmux server of this test's own (its own socket), one window of 100×30;
 * `await using` kills it.
 */
class Tmux implements AsyncDisposable {
  readonly socket = `parley-cli-test-${Deno.pid}-${Date.now()}`;

  async run(...args: string[]): Promise<string> {
    const out = await new Deno.Command(TMUX, { args: ["-L", this.socket, ...args] }).output();
    if (!out.success) throw new Error(`tmux ${args[0]}: ${new TextDecoder().decode(out.stderr)}`);
    return new TextDecoder().decode(out.stdout);
  }

  start(command: string): Promise<string> {
    return this.run("new-session", "-d", "-s", "cli", "-x", "100", "-y", "30", command);
  }

  /** Keys as a person types them; `literal` text is typed as is. */
  type(text: string): Promise<string> {
    return this.run("send-keys", "-t", "cli", "-l", text);
  }

  key(name: string): Promise<string> {
    return this.run("send-keys", "-t", "cli", name);
  }

  /** The screen's lines, trailing blanks removed. */
  async screen(): Promise<string[]> {
    const text = await this.run("capture-pane", "-p", "-t", "cli");
    const lines = text.split("\n").map((l) => l.trimEnd());
    while (lines.length > 0 && lines.at(-1) === "") lines.pop();
    return lines;
  }

  async waitForLine(pattern: RegExp, what: string): Promise<string[]> {
    let screen: string[] = [];
    await waitFor(
      async () => (screen = await this.screen()).some((l) => pattern.test(l)),
      what,
      10_000,
    )
      .catch((err) => {
        throw new Error(`${err.message}; screen:\n${screen.join("\n")}`);
      });
    return screen;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.run("kill-server").catch(() => {});
  }
}

Deno.test({
  name:
    "chat CLI in a terminal: prompt, lines above the typed input, typing, missed messages, Ctrl-C",
  ignore: !hasTmux,
  async fn(t) {
    await using server = await startTestServer();
    // Declared after the server, so the CLI goes before the server closes.
    await using tmux = new Tmux();
    const bob = await server.connect("bob");
    for (const text of ["first while you were away", "second while you were away"]) {
      const res = await request(bob, "sendMessage", { receiverId: "alice", text });
      assert(res.ok);
    }
    const token = await server.token("alice");
    await tmux.start(
      `cd ${REPO} && NO_COLOR=1 ${Deno.execPath()} run --allow-net --allow-env src/cli/chat.ts` +
        ` --url ${server.url} --token ${token}; echo "exited $?"; sleep 30`,
    );

    await t.step("the messages missed while away come under a heading", async () => {
      const screen = await tmux.waitForLine(/^--- 2 missed messages ---$/, "the heading");
      const at = screen.indexOf("--- 2 missed messages ---");
      assertMatch(screen[at + 1] ?? "", /^\[\d\d:\d\d\] bob → alice: first while you were away$/);
      assertMatch(
        screen[at + 2] ?? "",
        /^\[\d\d:\d\d\] bob → alice: second while you were away$/,
      );
      assertEquals(screen.at(-1), "parley>");
    });

    await t.step("the prompt names the open chat", async () => {
      await tmux.type("/open bob");
      await tmux.key("Enter");
      const screen = await tmux.waitForLine(/^--- bob: last 2 messages ---$/, "the history");
      await waitFor(async () => (await tmux.screen()).at(-1) === "bob>", "the bob> prompt");
      assert(screen.length > 0);
    });

    await t.step("typing is sent while typing", async () => {
      const typing = nextEvent(bob, "userTyping", (e) => e.userId === "alice" && e.isTyping);
      await tmux.type("I am half way thro");
      await typing;
    });

    await t.step("an incoming line prints above the half-typed one, which stays", async () => {
      await request(bob, "sendMessage", { receiverId: "alice", text: "interrupting you" });
      const screen = await tmux.waitForLine(
        /^\[\d\d:\d\d\] bob: interrupting you$/,
        "bob's line",
      );
      assertEquals(screen.at(-1), "bob> I am half way thro");
      assert(!screen.some((l) => l.includes("thro[")), "the message broke the typed line");
    });

    await t.step("the finished line is sent as one message", async () => {
      const got = collect(bob, "receiveMessage");
      const stopped = nextEvent(bob, "userTyping", (e) => e.userId === "alice" && !e.isTyping);
      await tmux.type("ugh");
      await tmux.key("Enter");
      await waitFor(() => got.items.length === 1, "bob to get it");
      assertEquals(got.stop()[0]?.text, "I am half way through");
      await stopped;
    });

    await t.step("the partner's edit and reaction print above the half-typed line", async () => {
      const history = await request(bob, "getChatHistory", { userId1: "bob", userId2: "alice" });
      assert(history.ok);
      const find = (text: string) => history.messages.find((m) => m.text === text)!._id;
      await tmux.type("still typ");
      await waitFor(async () => (await tmux.screen()).at(-1) === "bob> still typ", "typed");
      const edited = await request(bob, "editMessage", {
        messageId: find("interrupting you"),
        text: "interrupting, sorry",
      });
      assert(edited.ok);
      let screen = await tmux.waitForLine(
        /^\* edited: \[\d\d:\d\d\] bob: interrupting, sorry \(edited\)$/,
        "the edit",
      );
      assertEquals(screen.at(-1), "bob> still typ");
      const reacted = await request(bob, "addReaction", {
        messageId: find("I am half way through"),
        emoji: "👍",
      });
      assert(reacted.ok);
      screen = await tmux.waitForLine(
        /^\* bob reacted 👍: \[\d\d:\d\d\] alice: I am half way through \[👍 1\]$/,
        "the reaction",
      );
      assertEquals(screen.at(-1), "bob> still typ");
    });

    await t.step("/edit 1 changes the user's last message", async () => {
      const edited = nextEvent(bob, "messageEdited");
      await tmux.key("C-u");
      await tmux.type("/edit 1 I am all the way through");
      await tmux.key("Enter");
      assertEquals((await edited).text, "I am all the way through");
      await tmux.waitForLine(
        /^\* edited: \[\d\d:\d\d\] alice: I am all the way through \(edited\) \[👍 1\]$/,
        "the edit printed",
      );
    });

    await t.step("Ctrl-C leaves cleanly", async () => {
      await tmux.key("C-c");
      const screen = await tmux.waitForLine(/^exited 0$/, "the exit");
      assert(screen.includes("* bye"), screen.join("\n"));
    });
  },
});
