/**
 * Parley in a terminal.
 *
 * ```sh
 * deno run --allow-net --allow-env src/cli/chat.ts --url http://127.0.0.1:3000 --token <jwt>
 * deno run --allow-net --allow-env src/cli/chat.ts --user alice   # dev mode: fetches a token
 * ```
 *
 * Lists conversations with unread counts, then reads commands from stdin
 * (`/open <user>`, `/group <name> <user>…`, `/open #<group>`, `/list`, `/edit`,
 * `/react`, `/reply`, `/search`, `/block`, `/unblock`, `/help`, `/quit`; any
 * other line is sent to the open conversation, a partner or a group; in a
 * terminal behind a prompt naming it, `bob> ` or `#Team> `, with
 * `typing` sent while typing) and prints live events one line each, above the
 * line being typed:
 * `[12:01] bob: hi` (in a group too: each line names its sender), `* bob is typing…`,
 * `* bob is online`, `* alice created #Team: alice, you, bob`, `! CODE: message`.
 * Messages that arrived while away come first, under `--- N missed messages ---`.
 * Exit codes: 0 on /quit, end of input (Ctrl-D) or Ctrl-C, 1 when the server refuses or cannot
 * be reached, 2 for bad arguments.
 */
import { parseArgs } from "node:util";
import { decodeJwt } from "jose";
import { io } from "socket.io-client";
import { CliError, fetchDevToken, listConversations, searchMessages } from "./api.ts";
import { conversationList, errorLine } from "./format.ts";
import { ChatSession, type ChatSocket } from "./session.ts";
import { openTerminal } from "./terminal.ts";

const USAGE = `Usage: chat.ts [--url URL] (--token JWT | --user ID)

  --url URL     the Parley server (default $PARLEY_URL or http://127.0.0.1:3000)
  --token JWT   your token (default $PARLEY_TOKEN)
  --user ID     dev mode only: get a token for ID from POST /api/dev/token
  --help        this text`;

/** How long /quit waits for outstanding acks (read receipts) before closing. */
const QUIT_DRAIN_MS = 2000;

export interface CliOptions {
  url: string;
  token?: string;
  user?: string;
}

/** Parses argv; throws CliError("USAGE") with what was wrong. */
export function parseCliArgs(args: string[], env = Deno.env.toObject()): CliOptions | "help" {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: {
        url: { type: "string" },
        token: { type: "string" },
        user: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new CliError("USAGE", err instanceof Error ? err.message : String(err));
  }
  if (values.help) return "help";
  const url = values.url ?? env.PARLEY_URL ?? "http://127.0.0.1:3000";
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) {
    throw new CliError("USAGE", `--url must be an http(s) URL (given: ${JSON.stringify(url)})`);
  }
  const token = values.token ?? env.PARLEY_TOKEN;
  if (!token && !values.user) throw new CliError("USAGE", "pass --token JWT or --user ID");
  return { url, token: token || undefined, user: values.user };
}

/** Claims tried in order for the user id: `sub`, then those hosts commonly sign (JWT_USER_CLAIM). */
const USER_CLAIMS = ["sub", "userId", "user_id", "uid"];

/** The user a token speaks for (the server verifies; this only reads it). */
function subjectOf(token: string): string {
  try {
    const claims = decodeJwt(token);
    for (const name of USER_CLAIMS) {
      const value = claims[name];
      if (typeof value === "string" && value.trim() !== "") return value.trim();
      if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
    }
  } catch {
    // Reported below.
  }
  throw new CliError(
    "USAGE",
    `the token is not a JWT with a user claim (${USER_CLAIMS.join(", ")})`,
  );
}

/** Resolves once connected; a refusal rejects with the server's code. */
function connected(socket: ChatSocket): Promise<ChatSocket> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error & { data?: { code?: string; error?: string } }) => {
      socket.off("connect", onConnect);
      socket.close();
      reject(new CliError(err.data?.code ?? "CONNECT_ERROR", err.data?.error ?? err.message));
    };
    const onConnect = () => {
      socket.off("connect_error", onError);
      resolve(socket);
    };
    socket.once("connect", onConnect);
    socket.once("connect_error", onError);
  });
}

export async function main(args: string[]): Promise<number> {
  const terminal = openTerminal();
  const print = (line: string) => terminal.print(line);
  let options;
  try {
    options = parseCliArgs(args);
  } catch (err) {
    print(errorLine("USAGE", err instanceof Error ? err.message : String(err)));
    print(USAGE);
    terminal.close();
    return 2;
  }
  if (options === "help") {
    print(USAGE);
    terminal.close();
    return 0;
  }

  let socket: ChatSocket;
  let session: ChatSession;
  try {
    const token = options.token ?? await fetchDevToken(options.url, options.user!);
    const me = subjectOf(token);
    const conversations = () => listConversations(options.url, token);
    const rows = await conversations();
    for (const line of conversationList(rows, me)) print(line);

    socket = io(options.url, { auth: { token }, transports: ["websocket"] });
    // Listening before the connection: the missed messages come right behind it.
    const chat = session = new ChatSession({
      me,
      socket,
      print,
      conversations,
      search: (q) => searchMessages(options.url, token, q),
      openChanged: (partner) => terminal.setPrompt(partner),
    });
    chat.noteConversations(rows);
    socket.on("connect", () => chat.connected());
    await connected(socket);
    print(`* connected as ${me} (/help for commands)`);
    terminal.onTyped((text) => chat.typed(text));
    socket.on("disconnect", (reason) => {
      if (reason === "io client disconnect") return; // we are leaving
      print(`* disconnected (${reason})${socket.active ? ", reconnecting…" : ""}`);
    });
    socket.io.on("reconnect", () => print(`* connected as ${me}`));
  } catch (err) {
    terminal.close();
    if (err instanceof CliError) {
      print(errorLine(err.code, err.message));
      return err.code === "USAGE" ? 2 : 1;
    }
    throw err;
  }

  for await (const line of terminal.lines()) {
    if (await session.command(line) === "quit") break;
  }
  terminal.close();
  await session.drain(QUIT_DRAIN_MS);
  socket.close();
  print("* bye");
  return 0;
}

if (import.meta.main) {
  // Exit at once: a time-out still armed for an unanswered ack must not hold the process.
  Deno.exit(await main(Deno.args));
}
