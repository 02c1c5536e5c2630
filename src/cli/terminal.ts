/**
 * Where the CLI reads lines and prints: in a terminal, a node:readline prompt
 * naming the open chat, with incoming lines printed above the line being typed
 * (which is redrawn intact) and each keystroke reported for `typing`; from a
 * pipe (scripts, tests), plain lines in and out, no prompt.
 */
import process from "node:process";
import * as readline from "node:readline";
import { readLines } from "./lines.ts";

export interface Terminal {
  /** Prints one line, above what the user is typing. */
  print(line: string): void;
  /** The prompt names the open conversation (`bob> `), or `parley> `. */
  setPrompt(partner: string | null): void;
  /** What the user has typed so far, after each keystroke (terminal only). */
  onTyped(listener: (text: string) => void): void;
  /** The lines the user enters; ends on Ctrl-D, Ctrl-C or end of input. */
  lines(): AsyncIterable<string>;
  close(): void;
}

/** The prompt for a conversation: its partner's id, without control characters. */
export function promptFor(partner: string | null): string {
  // deno-lint-ignore no-control-regex
  return `${partner ? partner.replace(/[\u0000-\u001f\u007f-\u009f]/g, "") : "parley"}> `;
}

export function openTerminal(): Terminal {
  return Deno.stdin.isTerminal() ? interactive() : piped();
}

function piped(): Terminal {
  return {
    print: (line) => console.log(line),
    setPrompt() {},
    onTyped() {},
    lines: () => readLines(Deno.stdin.readable),
    close() {},
  };
}

function interactive(): Terminal {
  const rl = readline.createInterface({
    input: process.stdin,
    output: process.stdout,
    terminal: true,
    prompt: promptFor(null),
  });
  // Ctrl-C leaves as Ctrl-D does: the session drains and says bye.
  rl.on("SIGINT", () => {
    readline.clearLine(process.stdout, 0);
    readline.cursorTo(process.stdout, 0);
    rl.close();
  });
  let closed = false;
  rl.on("close", () => closed = true);
  return {
    print(line) {
      if (closed) return void console.log(line);
      // Clear the prompt line, print, then redraw the prompt with what was typed.
      readline.clearLine(process.stdout, 0);
      readline.cursorTo(process.stdout, 0);
      process.stdout.write(`${line}\n`);
      rl.prompt(true);
    },
    setPrompt(partner) {
      rl.setPrompt(promptFor(partner));
      if (!closed) rl.prompt(true);
    },
    onTyped(listener) {
      // After readline has applied the key to its line.
      process.stdin.on("keypress", () => setTimeout(() => !closed && listener(rl.line), 0));
    },
    async *lines() {
      rl.prompt();
      for await (const line of rl) {
        yield line;
        if (!closed) rl.prompt();
      }
    },
    close() {
      if (closed) return;
      rl.close();
      // The prompt goes: what follows ("* bye") starts its own line.
      readline.clearLine(process.stdout, 0);
      readline.cursorTo(process.stdout, 0);
    },
  };
}
