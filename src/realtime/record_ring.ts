/**
 * A ring of byte records in one fixed buffer: appended newest last, dropped
 * oldest first when space, slots or age run out. Numbered by a sequence that
 * only grows, so "everything after record n" is one range, and whether it is
 * all still kept is one comparison.
 *
 * Its point is memory that neither grows nor churns: the records live in one
 * ArrayBuffer allocated up front, outside the garbage-collected heap, so
 * keeping thousands of them for a minute creates no objects that live long
 * enough to be promoted and then die in the old generation.
 */
export class RecordRing {
  private readonly bytes: Uint8Array;
  private readonly starts: Uint32Array;
  private readonly lengths: Uint32Array;
  private readonly times: Float64Array;
  /** Sequence number of the oldest record kept (`== next` when none is). */
  private first = 0;
  /** Sequence number the next record gets. */
  private next = 0;
  /** Byte position just after the newest record. */
  private head = 0;

  constructor(capacityBytes: number, maxRecords: number) {
    this.bytes = new Uint8Array(capacityBytes);
    this.starts = new Uint32Array(maxRecords);
    this.lengths = new Uint32Array(maxRecords);
    this.times = new Float64Array(maxRecords);
  }

  /** Records kept. */
  get size(): number {
    return this.next - this.first;
  }

  /**
   * Appends a record and returns its sequence number. One larger than the whole
   * buffer is not kept, and nothing before it can be read past it: the ring is
   * emptied (a range across the gap would be incomplete).
   */
  append(at: number, record: Uint8Array): number {
    const seq = this.next++;
    if (record.length > this.bytes.length) {
      this.first = this.next;
      this.head = 0;
      return seq;
    }
    if (seq - this.first >= this.starts.length) this.first++;
    const start = this.placeFor(seq, record.length);
    this.bytes.set(record, start);
    const slot = seq % this.starts.length;
    this.starts[slot] = start;
    this.lengths[slot] = record.length;
    this.times[slot] = at;
    this.head = start + record.length;
    return seq;
  }

  /** Drops the records appended before `time`. */
  dropOlderThan(time: number): void {
    while (this.first < this.next && this.times[this.first % this.times.length]! < time) {
      this.first++;
    }
  }

  /**
   * Every record after `seq`, oldest first; undefined when one of them was
   * dropped, or `seq` was never handed out.
   */
  after(seq: number): Uint8Array[] | undefined {
    if (!Number.isSafeInteger(seq) || seq < this.first - 1 || seq >= this.next) return undefined;
    const records: Uint8Array[] = [];
    for (let s = Math.max(seq + 1, this.first); s < this.next; s++) {
      const slot = s % this.starts.length;
      records.push(
        this.bytes.subarray(this.starts[slot]!, this.starts[slot]! + this.lengths[slot]!),
      );
    }
    return records;
  }

  /** Where a record of `length` bytes goes, dropping the oldest until it fits. */
  private placeFor(seq: number, length: number): number {
    const capacity = this.bytes.length;
    for (;;) {
      if (this.first === seq) return 0; // nothing else kept
      const tail = this.starts[this.first % this.starts.length]!;
      if (tail < this.head) {
        // Kept: [tail, head). Free: after head, then before tail.
        if (this.head + length <= capacity) return this.head;
        if (length <= tail) return 0;
      } else if (this.head + length <= tail) {
        // Wrapped, kept: [tail, end) and [0, head). Free: [head, tail).
        return this.head;
      }
      this.first++;
    }
  }
}
