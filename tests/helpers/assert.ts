/**
 * Minimal assertions: `jsr:@std/assert` cannot be fetched here, so these
 * wrap node:assert (strict deep equality) with the std names.
 */
import nodeAssert from "node:assert/strict";

export function assert(condition: unknown, message?: string): asserts condition {
  nodeAssert.ok(condition, message as string);
}

export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message as string);
}

export function assertNotEquals<T>(actual: T, expected: T, message?: string): void {
  nodeAssert.notDeepStrictEqual(actual, expected, message as string);
}

export function assertMatch(actual: string, pattern: RegExp, message?: string): void {
  nodeAssert.match(actual, pattern, message as string);
}

export function assertExists<T>(value: T, message?: string): asserts value is NonNullable<T> {
  nodeAssert.ok(value !== null && value !== undefined, message ?? "expected a value");
}

export async function assertRejects(
  fn: () => Promise<unknown>,
  check?: (err: unknown) => void,
): Promise<void> {
  let caught: unknown;
  try {
    await fn();
  } catch (err) {
    caught = err ?? new Error("rejected with nothing");
  }
  nodeAssert.ok(caught !== undefined, "expected the promise to reject");
  check?.(caught);
}
