import { assert, assertEquals } from "../../tests/helpers/assert.ts";
import { RecordRing } from "./record_ring.ts";

/** A record whose bytes say which one it is, of the given length. */
function record(seq: number, length: number): Uint8Array {
  return Uint8Array.from({ length }, (_, i) => (seq * 31 + i) & 255);
}

Deno.test("RecordRing keeps the newest records intact, drops the oldest first, and says when a range is gone", () => {
  const capacity = 1000;
  const ring = new RecordRing(capacity, 16);
  const appended: { seq: number; bytes: Uint8Array }[] = [];
  let seed = 7;
  const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;

  for (let i = 0; i < 2000; i++) {
    const bytes = record(i, 1 + Math.floor(random() * 300));
    const seq = ring.append(i, bytes);
    assertEquals(seq, i, "sequence numbers count up from 0");
    appended.push({ seq, bytes });

    // What is kept is the newest ones, in order, byte for byte, within the capacity.
    const kept = ring.after(seq - ring.size)!;
    assertEquals(kept.length, ring.size);
    const expected = appended.slice(appended.length - ring.size);
    kept.forEach((bytes, k) =>
      assertEquals(bytes, expected[k]!.bytes, `record ${expected[k]!.seq}`)
    );
    assert(ring.size >= 1 && ring.size <= 16, `${ring.size} records kept (16 slots)`);
    assert(kept.reduce((sum, r) => sum + r.length, 0) <= capacity, "within the capacity");
    // The newest always stays; a range reaching past the oldest kept is refused.
    assertEquals(ring.after(seq)!.length, 0, "nothing after the newest");
    if (ring.size < appended.length) {
      assertEquals(ring.after(seq - ring.size - 1), undefined, "a dropped record: no range");
    }
  }
  assertEquals(ring.after(2000), undefined, "a number never handed out");
  assertEquals(ring.after(Number.NaN), undefined);
});

Deno.test("RecordRing: dropOlderThan drops by age, and a record larger than the ring empties it", () => {
  const ring = new RecordRing(100, 10);
  for (let i = 0; i < 5; i++) ring.append(i * 10, record(i, 10));
  ring.dropOlderThan(25);
  assertEquals(ring.size, 2, "the records appended at 30 and 40");
  assertEquals(ring.after(2)!.length, 2);
  assertEquals(ring.after(1), undefined);

  const big = ring.append(50, record(5, 101));
  assertEquals([big, ring.size], [5, 0], "not kept, and nothing before it either");
  assertEquals(ring.after(4), undefined, "the range across it is incomplete");
  assertEquals(ring.after(5), [], "after it: complete (empty)");
  ring.append(60, record(6, 10));
  assertEquals(ring.after(5)!.length, 1);
});
