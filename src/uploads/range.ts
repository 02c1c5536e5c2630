/** `Range: bytes=…` for downloads (RFC 9110 §14), one range per request. */
import type { ByteRange } from "../store/upload_store.ts";

/**
 * The byte range a `Range` header asks of a file of `size` bytes:
 * - `undefined`: no usable header (absent, another unit, bad syntax, several
 *   ranges): the whole file is sent with 200, as RFC 9110 allows;
 * - `null`: a valid range wholly outside the file (416);
 * - else the inclusive range, clipped to the file.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | null | undefined {
  if (!header) return undefined;
  const match = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match) return undefined;
  const [, first = "", last = ""] = match;
  if (first === "" && last === "") return undefined;
  if (first === "") {
    // Suffix range: the last N bytes.
    const length = Number(last);
    if (length === 0) return null;
    return { start: Math.max(0, size - length), end: size - 1 };
  }
  const start = Number(first);
  const end = last === "" ? Infinity : Number(last);
  if (end < start) return undefined;
  if (start >= size) return null;
  return { start, end: Math.min(end, size - 1) };
}
