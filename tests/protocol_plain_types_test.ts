/**
 * src/protocol/types.ts is written by hand, importing nothing, so that a
 * client can copy it. What the server really accepts and answers is defined
 * elsewhere (the zod schemas in src/schemas/, the error table in
 * src/errors.ts); these checks fail to compile when the two drift apart.
 */
import type { z } from "zod";
import type { ERROR_CODES } from "../src/errors.ts";
import type * as protocol from "../src/protocol/types.ts";
import type * as inputs from "../src/schemas/inputs.ts";
import { assertEquals } from "./helpers/assert.ts";

/** Identical types only: an extra optional field on either side is a difference too. */
type Same<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true
  : false;

// What a client may send is what the server's schemas take (z.input: before
// defaults and trimming), and the codes it may get back are the server's table.
const protocolMatchesTheServer: [
  Same<protocol.ErrorCode, keyof typeof ERROR_CODES>,
  Same<protocol.FileAttachment, inputs.FileAttachment>,
  Same<protocol.SendMessagePayload, z.input<typeof inputs.SendMessageInput>>,
  Same<protocol.TypingPayload, z.input<typeof inputs.TypingInput>>,
  Same<protocol.ChatHistoryPayload, z.input<typeof inputs.ChatHistoryInput>>,
  Same<protocol.MessageReadPayload, z.input<typeof inputs.MessageReadInput>>,
  Same<protocol.EditMessagePayload, z.input<typeof inputs.EditMessageInput>>,
  Same<protocol.ReactionPayload, z.input<typeof inputs.ReactionInput>>,
  Same<protocol.BlockUserPayload, z.input<typeof inputs.BlockUserInput>>,
] = [true, true, true, true, true, true, true, true, true];

Deno.test("protocol types: the hand-written payloads match the server's schemas (compile time)", () => {
  assertEquals(protocolMatchesTheServer, [true, true, true, true, true, true, true, true, true]);
});

Deno.test("protocol types: src/protocol/types.ts imports nothing, so clients can copy it", async () => {
  const source = await Deno.readTextFile(new URL("../src/protocol/types.ts", import.meta.url));
  const imports = source.match(/^\s*(import\b|export\b[^;]*\bfrom\b).*$/gm) ?? [];
  assertEquals(imports, []);
});
