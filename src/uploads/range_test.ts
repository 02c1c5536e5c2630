import { assertEquals } from "../../tests/helpers/assert.ts";
import { parseRange } from "./range.ts";

Deno.test("parseRange() gives the inclusive range asked for, clipped to the file", () => {
  assertEquals(parseRange("bytes=0-9", 100), { start: 0, end: 9 });
  assertEquals(parseRange("bytes=10-", 100), { start: 10, end: 99 });
  assertEquals(parseRange("bytes=90-500", 100), { start: 90, end: 99 });
  assertEquals(parseRange("bytes=99-99", 100), { start: 99, end: 99 });
  assertEquals(parseRange("  bytes=5-6 ", 100), { start: 5, end: 6 });
});

Deno.test("parseRange() reads a suffix range as the last N bytes, the whole file when N exceeds it", () => {
  assertEquals(parseRange("bytes=-10", 100), { start: 90, end: 99 });
  assertEquals(parseRange("bytes=-500", 100), { start: 0, end: 99 });
});

Deno.test("parseRange() is null (416) for a valid range wholly outside the file", () => {
  assertEquals(parseRange("bytes=100-", 100), null);
  assertEquals(parseRange("bytes=100-200", 100), null);
  assertEquals(parseRange("bytes=-0", 100), null);
});

Deno.test("parseRange() ignores (200, whole file) what it cannot serve as one range", async (t) => {
  const ignored = {
    "no header": undefined,
    "an empty header": "",
    "another unit": "items=0-9",
    "several ranges": "bytes=0-9,20-29",
    "no bounds": "bytes=-",
    "the end before the start": "bytes=9-0",
    "a negative start": "bytes=--5",
    "not numbers": "bytes=a-b",
  };
  for (const [what, header] of Object.entries(ignored)) {
    await t.step(what, () => assertEquals(parseRange(header, 100), undefined));
  }
});
