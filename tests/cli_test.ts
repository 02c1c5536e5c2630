/**
 * The terminal client, driven as a person would: a spawned process, lines on
 * its stdin, lines read back from its stdout, against a real server and real
 * Socket.IO clients on the other side.
 */
import { fileURLToPath } from "node:url";
import { readLines } from "../src/cli/lines.ts";
import { assert, assertEquals, assertMatch } from "./helpers/assert.ts";
import { collect, nextEvent } from "./helpers/events.ts";
import {
  clientList,
  connectClient,
  signToken,
  startTestServer,
  type TestServer,
} from "./helpers/server.ts";

const REPO = fileURLToPath(new URL("../", import.meta.url));
const CLI = fileURLToPath(new URL("../src/cli/chat.ts", import.meta.url));
const TIME = String.raw`\[\d\d:\d\d\]`;

/** A running CLI: write lines to it, wait for lines from it. */
class CliProcess {
  readonly lines: string[] = [];
  readonly status: Promise<Deno.CommandStatus>;
  private cursor = 0;
  private stderr = "";
  private wake = () => {};
  private readonly child: Deno.ChildProcess;
  private readonly stdin: WritableStreamDefaultWriter<Uint8Array>;
  private readonly pumped: Promise<void>;

  constructor(args: string[]) {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net", "--allow-env", CLI, ...args],
      cwd: REPO,
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.child = child;
    this.stdin = child.stdin.getWriter();
    // Read stdout as it comes: the CLI prints line by line, never all at the end.
    this.pumped = Promise.all([
      (async () => {
        for await (const line of readLines(child.stdout)) {
          this.lines.push(line);
          this.wake();
        }
      })(),
      new Response(child.stderr).text().then((text) => void (this.stderr = text)),
    ]).then(() => this.wake());
    this.status = child.status;
  }

  async send(line: string): Promise<void> {
    await this.stdin.write(new TextEncoder().encode(`${line}\n`));
  }

  /** Closes stdin: end of input, as Ctrl-D in a terminal. */
  async endInput(): Promise<void> {
    await this.stdin.close().catch(() => {});
  }

  /**
   * Waits for the next line (after the last one matched) that matches; lines
   * in between are skipped. Fails with the whole output after `timeoutMs`.
   */
  async waitFor(pattern: RegExp, timeoutMs = 5000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    let exited = false;
    this.status.then(() => exited = true);
    while (true) {
      while (this.cursor < this.lines.length) {
        const line = this.lines[this.cursor++]!;
        if (pattern.test(line)) return line;
      }
      const left = deadline - Date.now();
      if (left <= 0 || (exited && (await this.pumped, this.cursor >= this.lines.length))) {
        throw new Error(
          `no line matching ${pattern} within ${timeoutMs} ms${exited ? " (the CLI exited)" : ""}` +
            `\n--- stdout ---\n${this.lines.join("\n")}\n--- stderr ---\n${this.stderr}`,
        );
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  /** Waits for the exit; kills the process first when `kill` is set (cleanup after a failure). */
  async finish(kill = false): Promise<Deno.CommandStatus> {
    if (kill) {
      try {
        this.child.kill();
      } catch {
        // Already gone.
      }
    }
    await this.endInput();
    const status = await this.status;
    await this.pumped;
    return status;
  }
  /** `await using`: a CLI still running when the test ends is killed. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.finish(true);
  }
}

async function devToken(server: TestServer, userId: string): Promise<string> {
  const res = await fetch(`${server.url}/api/dev/token`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ userId }),
  });
  assertEquals(res.status, 200);
  return (await res.json()).token;
}

Deno.test("chat CLI: lists conversations, opens one, sends, prints live events, reads, quits", async (t) => {
  await using server = await startTestServer();
  let bob = await server.connect("bob");
  const carol = await server.connect("carol");
  const earlier = await bob.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "alice",
    text: "are you there?",
  });
  assert(earlier.ok);
  await carol.timeout(3000).emitWithAck("sendMessage", { receiverId: "alice", text: "hey" });
  const aliceOnline = nextEvent(bob, "userOnline", (p) => p.userId === "alice" && p.isOnline);

  await using cli = new CliProcess(["--url", server.url, "--token", await server.token("alice")]);

  await t.step("on start it lists conversations with unread counts, then connects", async () => {
    await cli.waitFor(/^Conversations \(2\):$/);
    await cli.waitFor(/^ {2}carol \[online\] 1 unread · carol: hey$/);
    await cli.waitFor(/^ {2}bob \[online\] 1 unread · bob: are you there\?$/);
    await cli.waitFor(/^\* connected as alice/);
    await aliceOnline;
  });

  await t.step("/open shows the history and marks the partner's messages read", async () => {
    const receipt = nextEvent(bob, "messageRead");
    await cli.send("/open bob");
    await cli.waitFor(/^--- bob: last 1 message ---$/);
    await cli.waitFor(new RegExp(`^${TIME} bob: are you there\\?$`));
    assertEquals((await receipt).messageId, earlier.message._id);
    assertEquals((await receipt).readerId, "alice");
  });

  await t.step("a plain line is sent to the open conversation, with a client id", async () => {
    const received = nextEvent(bob, "receiveMessage");
    await cli.send("hello from the terminal");
    const message = await received;
    assertEquals(message.senderId, "alice");
    assertEquals(message.text, "hello from the terminal");
    assertMatch(message.clientMessageId ?? "", /^[0-9a-f-]{36}$/);
    await cli.waitFor(new RegExp(`^${TIME} alice: hello from the terminal$`));

    await bob.timeout(3000).emitWithAck("messageRead", { messageId: message._id });
    await cli.waitFor(/^\* bob read "hello from the terminal"$/);
  });

  await t.step("typing from the partner prints live", async () => {
    bob.emit("typing", { receiverId: "alice", isTyping: true });
    await cli.waitFor(/^\* bob is typing…$/);
    bob.emit("typing", { receiverId: "alice", isTyping: false });
    await cli.waitFor(/^\* bob stopped typing$/);
  });

  await t.step("an incoming message prints and the sender gets the read receipt", async () => {
    const receipt = nextEvent(bob, "messageRead");
    const sent = await bob.timeout(3000).emitWithAck("sendMessage", {
      receiverId: "alice",
      text: "line one\nline two",
    });
    assert(sent.ok);
    await cli.waitFor(new RegExp(`^${TIME} bob: line one ⏎ line two$`));
    const read = await receipt;
    const stored = await server.parley.store.messages.get(sent.message._id);
    assertEquals(read, {
      messageId: sent.message._id,
      readerId: "alice",
      readAt: stored!.readAt!,
    });
    // Delivered too (a read that lands first implies it, without a messageDelivered).
    assert(stored!.deliveredAt, "deliveredAt is set");
  });

  await t.step(
    "a message from another conversation shows who it is from, delivered, unread",
    async () => {
      const carolReads = collect(carol, "messageRead");
      const delivered = nextEvent(carol, "messageDelivered");
      const sent = await carol.timeout(3000).emitWithAck("sendMessage", {
        receiverId: "alice",
        text: "psst",
      });
      assert(sent.ok);
      await cli.waitFor(new RegExp(`^${TIME} carol → alice: psst$`));
      assertEquals((await delivered).messageId, sent.message._id);
      await cli.send("/list");
      await cli.waitFor(/^ {2}carol \[online\] 2 unread · carol: psst$/);
      await cli.waitFor(/^ {2}bob \[online\] 0 unread · bob: line one ⏎ line two$/);
      assertEquals(carolReads.stop(), []);
      assertEquals((await server.parley.store.messages.get(sent.message._id))?.readAt, null);
    },
  );

  await t.step("a deleted message is reported", async () => {
    const sent = await bob.timeout(3000).emitWithAck("sendMessage", {
      receiverId: "alice",
      text: "oops",
    });
    assert(sent.ok);
    await cli.waitFor(new RegExp(`^${TIME} bob: oops$`));
    const res = await server.api("bob", `/api/chats/${sent.message._id}`, { method: "DELETE" });
    assertEquals(res.status, 200);
    await res.body?.cancel();
    await cli.waitFor(new RegExp(`^\\* deleted: ${TIME} bob: oops$`));
  });

  await t.step("presence of the partner prints live", async () => {
    bob.close();
    await cli.waitFor(/^\* bob is offline \(last seen \d\d:\d\d\)$/);
    bob = await server.connect("bob");
    await cli.waitFor(/^\* bob is online$/);
  });

  await t.step("server errors print as ! CODE: message", async () => {
    await cli.send("x".repeat(5001));
    await cli.waitFor(/^! VALIDATION_ERROR: sendMessage: .+/);
    await cli.send("/nope");
    await cli.waitFor(/^! USAGE: unknown command \/nope/);
  });

  await t.step("/quit exits 0", async () => {
    await cli.send("/quit");
    await cli.waitFor(/^\* bye$/);
    assertEquals((await cli.finish()).code, 0);
  });
});

Deno.test("chat CLI --user fetches a dev token from a dev-mode server and exits 0 at end of input", async () => {
  await using server = await startTestServer({ JWT_SECRET: "" });
  await using clients = clientList();
  const dave = await connectClient(server.url, { token: await devToken(server, "dave") });
  clients.push(dave);
  await using cli = new CliProcess(["--url", server.url, "--user", "carol"]);
  await cli.waitFor(/^No conversations yet\./);
  await cli.waitFor(/^\* connected as carol/);
  await cli.send("/open dave");
  await cli.waitFor(/^--- dave: no messages yet ---$/);
  const received = nextEvent(dave, "receiveMessage");
  await cli.send("hi dave");
  assertEquals((await received).text, "hi dave");
  assertEquals((await received).senderId, "carol");
  await cli.endInput();
  assertEquals((await cli.finish()).code, 0);
});

Deno.test("chat CLI refuses to start with a bad token or without dev mode, exit code 1", async () => {
  await using server = await startTestServer();
  const forged = await signToken("alice", {}, "another-secret-that-is-at-least-32-characters");
  await using refused = new CliProcess(["--url", server.url, "--token", forged]);
  await refused.waitFor(/^! UNAUTHORIZED: .+/);
  assertEquals((await refused.finish()).code, 1);

  await using noDev = new CliProcess(["--url", server.url, "--user", "alice"]);
  await noDev.waitFor(/^! NOT_FOUND: dev tokens are disabled/);
  assertEquals((await noDev.finish()).code, 1);
});

Deno.test("chat CLI: /react, /reply, /edit, /search and /block, with (edited) and reactions in the lines", async (t) => {
  await using server = await startTestServer();
  const bob = await server.connect("bob");
  const asked = await bob.timeout(3000).emitWithAck("sendMessage", {
    receiverId: "alice",
    text: "lunch at noon?",
  });
  assert(asked.ok);
  await using cli = new CliProcess(["--url", server.url, "--token", await server.token("alice")]);
  await cli.waitFor(/^\* connected as alice/);
  await cli.send("/open bob");
  await cli.waitFor(new RegExp(`^${TIME} bob: lunch at noon\\?$`));

  await t.step("/help explains how n counts", async () => {
    await cli.send("/help");
    await cli.waitFor(/^ {2}\/edit <n> <text> +change the text of your message n$/);
    await cli.waitFor(/^n counts back from the newest message of the open conversation: 1 is/);
  });

  await t.step("/react 1 adds the emoji to the last message; again takes it off", async () => {
    const added = nextEvent(bob, "messageReaction");
    await cli.send("/react 1 👍");
    assertEquals(await added, {
      messageId: asked.message._id,
      userId: "alice",
      emoji: "👍",
      added: true,
    });
    await cli.waitFor(new RegExp(`^\\* you reacted 👍: ${TIME} bob: lunch at noon\\? \\[👍 1\\]$`));
    const removed = nextEvent(bob, "messageReaction");
    await cli.send("/react 1 👍");
    assertEquals((await removed).added, false);
    await cli.waitFor(new RegExp(`^\\* you took back 👍: ${TIME} bob: lunch at noon\\?$`));
  });

  let reply = "";
  await t.step("/reply 1 sends a reply quoting the last message", async () => {
    const received = nextEvent(bob, "receiveMessage");
    await cli.send("/reply 1 yes,  noon");
    const message = await received;
    reply = message._id;
    assertEquals(message.text, "yes,  noon");
    assertEquals(message.replyTo?._id, asked.message._id);
    await cli.waitFor(
      new RegExp(`^${TIME} alice: \\(reply to bob: "lunch at noon\\?"\\) yes,  noon$`),
    );
  });

  await t.step("/edit 1 changes the user's own message; the line says (edited)", async () => {
    const edited = nextEvent(bob, "messageEdited");
    await cli.send("/edit 1 yes, half past twelve");
    assertEquals((await edited).messageId, reply);
    assertEquals((await edited).text, "yes, half past twelve");
    await cli.waitFor(
      new RegExp(
        `^\\* edited: ${TIME} alice: \\(reply to bob: "lunch at noon\\?"\\) yes, half past twelve \\(edited\\)$`,
      ),
    );
  });

  await t.step("the partner's reaction prints live with the count", async () => {
    const sent = await bob.timeout(3000).emitWithAck("addReaction", {
      messageId: reply,
      emoji: "❤️",
    });
    assert(sent.ok);
    await cli.waitFor(/^\* bob reacted ❤️: .* yes, half past twelve \(edited\) \[❤️ 1\]$/);
  });

  await t.step(
    "a message that is not the user's, or a number out of range, is refused",
    async () => {
      await cli.send("/edit 2 not mine");
      await cli.waitFor(/^! FORBIDDEN: editMessage: .+/);
      await cli.send("/edit 3 too far");
      await cli.waitFor(/^! USAGE: \/edit <n> <text>: n is 1 for the last message shown, up to 2/);
      await cli.send("/react 1");
      await cli.waitFor(/^! USAGE: \/react <n> <emoji>/);
      assertEquals(
        (await server.parley.store.messages.get(asked.message._id))?.text,
        "lunch at noon?",
      );
    },
  );

  await t.step("history shows the quote, (edited) and the reactions", async () => {
    await cli.send("/open bob");
    await cli.waitFor(/^--- bob: last 2 messages ---$/);
    await cli.waitFor(
      new RegExp(
        `^${TIME} alice: \\(reply to bob: "lunch at noon\\?"\\) yes, half past twelve \\(edited\\) \\[❤️ 1\\]$`,
      ),
    );
  });

  await t.step("/search prints the matching messages with both ends", async () => {
    await cli.send("/search LUNCH");
    await cli.waitFor(/^--- search "LUNCH": 1 message ---$/);
    await cli.waitFor(new RegExp(`^${TIME} bob → alice: lunch at noon\\?$`));
    await cli.send("/search nothing-like-this");
    await cli.waitFor(/^--- search "nothing-like-this": no messages ---$/);
  });

  await t.step("/block stops messages both ways; /unblock lets them through again", async () => {
    await cli.send("/block bob");
    await cli.waitFor(/^\* blocked bob: no messages either way until you \/unblock bob$/);
    const refused = await bob.timeout(3000).emitWithAck("sendMessage", {
      receiverId: "alice",
      text: "hello?",
    });
    assert(!refused.ok);
    assertEquals(refused.code, "FORBIDDEN");
    await cli.send("are you there?");
    await cli.waitFor(/^! FORBIDDEN: sendMessage: You cannot message this user$/);
    await cli.send("/unblock");
    await cli.waitFor(/^\* unblocked bob$/);
    const received = nextEvent(bob, "receiveMessage");
    await cli.send("back again");
    assertEquals((await received).text, "back again");
  });

  await cli.send("/quit");
  assertEquals((await cli.finish()).code, 0);
});

Deno.test("chat CLI: /group makes a group and opens it, /open #group by name or id, lines name their sender", async (t) => {
  await using server = await startTestServer();
  const bob = await server.connect("bob");
  const carol = await server.connect("carol");
  await using cli = new CliProcess(["--url", server.url, "--token", await server.token("alice")]);
  await cli.waitFor(/^\* connected as alice/);
  let groupId = "";
  let tentId = "";
  let iDoId = "";
  let seeYouId = "";

  await t.step(
    "/group makes the group with the people named, the user its owner, and opens it",
    async () => {
      const bobHears = nextEvent(bob, "groupUpdated");
      await cli.send('/group "Weekend trip" bob carol');
      const made = await cli.waitFor(/^\* you created #Weekend trip \(id \w+\): you, bob, carol$/);
      groupId = /\(id (\w+)\)/.exec(made)![1]!;
      await cli.waitFor(/^--- #Weekend trip \(3 members\): no messages yet ---$/);
      const { group, change } = await bobHears;
      assertEquals(change.type, "created");
      assertEquals([group._id, group.name, group.ownerId], [groupId, "Weekend trip", "alice"]);
      assertEquals(group.memberIds, ["alice", "bob", "carol"]);
    },
  );

  await t.step("a plain line goes to the open group: every other member receives it", async () => {
    const toBob = nextEvent(bob, "receiveMessage");
    const toCarol = nextEvent(carol, "receiveMessage");
    await cli.send("who brings the tent?");
    const message = await toBob;
    tentId = message._id;
    assertEquals([message.groupId, message.receiverId, message.text], [
      groupId,
      null,
      "who brings the tent?",
    ]);
    assertEquals((await toCarol)._id, tentId);
    await cli.waitFor(new RegExp(`^${TIME} alice: who brings the tent\\?$`));
  });

  await t.step(
    "a member's message prints with their name, and reading it moves the pointer",
    async () => {
      const read = nextEvent(bob, "groupRead", (r) => r.userId === "alice");
      const sent = await bob.timeout(3000).emitWithAck("sendMessage", { groupId, text: "I do" });
      assert(sent.ok);
      iDoId = sent.message._id;
      await cli.waitFor(new RegExp(`^${TIME} bob: I do$`));
      assertEquals((await read).messageId, sent.message._id);
    },
  );

  await t.step("typing and reads in the group print, naming it", async () => {
    carol.emit("typing", { groupId, isTyping: true });
    await cli.waitFor(/^\* carol is typing… in #Weekend trip$/);
    const read = await carol.timeout(3000).emitWithAck("markGroupRead", {
      groupId,
      messageId: tentId,
    });
    assert(read.ok);
    await cli.waitFor(/^\* carol read "who brings the tent\?" in #Weekend trip$/);
  });

  await t.step(
    "elsewhere a group's line names the group; /open #name and #id open it",
    async () => {
      await cli.send("/open bob");
      await cli.waitFor(/^--- bob: no messages yet ---$/);
      const sent = await carol.timeout(3000).emitWithAck("sendMessage", {
        groupId,
        text: "see you",
      });
      assert(sent.ok);
      seeYouId = sent.message._id;
      await cli.waitFor(new RegExp(`^${TIME} carol → #Weekend trip: see you$`));
      // Opening the group shows "see you", which moves alice's pointer: the list waits for that.
      const aliceRead = nextEvent(
        carol,
        "groupRead",
        (r) => r.userId === "alice" && r.messageId === seeYouId,
        5000,
      );
      for (const ref of ["weekend trip", groupId]) {
        await cli.send(`/open #${ref}`);
        await cli.waitFor(/^--- #Weekend trip \(3 members\): last 3 messages ---$/);
        await cli.waitFor(new RegExp(`^${TIME} alice: who brings the tent\\?$`));
        await cli.waitFor(new RegExp(`^${TIME} bob: I do$`));
        await cli.waitFor(new RegExp(`^${TIME} carol: see you$`));
      }
      await aliceRead;
      await cli.send("/list");
      await cli.waitFor(/^ {2}#Weekend trip \[group of 3\] 0 unread · carol: see you$/);
    },
  );

  await t.step("/reply and /react work on the open group's lines", async () => {
    const reply = nextEvent(carol, "receiveMessage");
    await cli.send("/reply 1 great");
    const message = await reply;
    assertEquals([message.groupId, message.replyTo?._id], [groupId, seeYouId]);
    await cli.waitFor(new RegExp(`^${TIME} alice: \\(reply to carol: "see you"\\) great$`));
    const reacted = nextEvent(bob, "messageReaction");
    await cli.send("/react 3 👍");
    assertEquals((await reacted).messageId, iDoId);
    await cli.waitFor(new RegExp(`^\\* you reacted 👍: ${TIME} bob: I do \\[👍 1\\]$`));
  });

  await t.step(
    "membership changes print; unknown groups and a group without people are refused",
    async () => {
      assert((await carol.timeout(3000).emitWithAck("leaveGroup", { groupId })).ok);
      await cli.waitFor(/^\* #Weekend trip: carol left \(owner: you\)$/);
      await cli.send("/open #nothing");
      await cli.waitFor(/^! NOT_FOUND: getChatHistory: .+/);
      await cli.send("/group Solo");
      await cli.waitFor(/^! USAGE: \/group <name> <user> <user>…$/);
      await cli.send("/help");
      await cli.waitFor(/^ {2}\/group <name> <user> <user>… +make a group/);
      await cli.waitFor(/^ {2}\/open #<group> +open a group by its name or id$/);
    },
  );

  await cli.send("/quit");
  assertEquals((await cli.finish()).code, 0);
});

Deno.test("chat CLI: groups from the start-up list are named in lines before any /open", async () => {
  await using server = await startTestServer();
  const bob = await server.connect("bob");
  const made = await bob.timeout(3000).emitWithAck("createGroup", {
    name: "Book club",
    memberIds: ["alice"],
  });
  assert(made.ok);
  await using cli = new CliProcess(["--url", server.url, "--token", await server.token("alice")]);
  await cli.waitFor(/^ {2}#Book club \[group of 2\] 0 unread$/);
  await cli.waitFor(/^\* connected as alice/);
  const sent = await bob.timeout(3000).emitWithAck("sendMessage", {
    groupId: made.group._id,
    text: "chapter 3 tonight",
  });
  assert(sent.ok);
  await cli.waitFor(new RegExp(`^${TIME} bob → #Book club: chapter 3 tonight$`));
  await cli.send("/quit");
  assertEquals((await cli.finish()).code, 0);
});
