import { assertEquals } from "../../tests/helpers/assert.ts";
import { ELF, PDF, PNG, text } from "../../tests/helpers/files.ts";
import { detectType } from "./content_type.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);

/** The smallest WebM a sniffer names: an EBML header whose DocType is "webm". */
const WEBM = new Uint8Array([
  0x1a,
  0x45,
  0xdf,
  0xa3,
  0x9f, // EBML header, 31 bytes follow
  0x42,
  0x86,
  0x81,
  0x01, // EBMLVersion 1
  0x42,
  0xf7,
  0x81,
  0x01, // EBMLReadVersion 1
  0x42,
  0xf2,
  0x81,
  0x04, // EBMLMaxIDLength 4
  0x42,
  0xf3,
  0x81,
  0x08, // EBMLMaxSizeLength 8
  0x42,
  0x82,
  0x84,
  ...utf8("webm"), // DocType
  0x42,
  0x87,
  0x81,
  0x02, // DocTypeVersion 2
  0x42,
  0x85,
  0x81,
  0x02, // DocTypeReadVersion 2
]);

Deno.test("detectType() names allowed formats from their bytes, whatever was declared", async () => {
  assertEquals(await detectType(PNG, "application/pdf"), {
    mime: "image/png",
    kind: "image",
    ext: "png",
  });
  assertEquals(await detectType(PDF), { mime: "application/pdf", kind: "document", ext: "pdf" });
});

Deno.test("detectType() refuses executables and formats off the allowlist", async () => {
  assertEquals(await detectType(ELF, "image/png"), null);
  // Text a browser would render as a page: named XML by the sniffer, so never kept as text.
  const svg = utf8('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg"></svg>');
  assertEquals(await detectType(svg, "text/plain"), null);
});

Deno.test("detectType() reads a WebM as video unless declared audio/webm (voice notes)", async () => {
  assertEquals((await detectType(WEBM))?.mime, "video/webm");
  assertEquals((await detectType(WEBM, "video/webm"))?.kind, "video");
  assertEquals(await detectType(WEBM, "Audio/WebM;codecs=opus"), {
    mime: "audio/webm",
    kind: "audio",
    ext: "webm",
  });
  // The declared type picks between readings of the bytes, never over them.
  assertEquals((await detectType(PNG, "audio/webm"))?.mime, "image/png");
});

Deno.test("detectType() takes UTF-8 without control characters as plain text", async (t) => {
  const plain = { mime: "text/plain", kind: "document", ext: "txt" };
  await t.step("ASCII", async () => assertEquals(await detectType(text(1000)), plain));
  await t.step("tabs, line breaks, form feed and non-Latin letters", async () => {
    assertEquals(await detectType(utf8("héllo\twörld\r\n\f日本語\n")), plain);
  });
  await t.step("a sample cut in the middle of its last character", async () => {
    const cut = utf8("naïve 日本").slice(0, -1);
    assertEquals(await detectType(cut), plain);
  });
});

Deno.test("detectType() refuses bytes that are neither a known format nor text", async (t) => {
  await t.step("empty", async () => assertEquals(await detectType(new Uint8Array()), null));
  await t.step("a NUL byte", async () => assertEquals(await detectType(utf8("abc\0def")), null));
  await t.step("an escape character", async () => {
    assertEquals(await detectType(utf8("abc\u001b[31mred")), null);
  });
  await t.step("invalid UTF-8 inside the sample", async () => {
    assertEquals(await detectType(new Uint8Array([0x61, 0xff, 0x62, 0x63])), null);
  });
});
