/**
 * The tests' one assert module: node:assert/strict (JSR, home of @std/assert,
 * is out of reach here) under the names the suites use.
 */

import nodeAssert from "node:assert/strict";

/** node:assert/strict itself: `assert(condition, message)`, `assert.rejects`, `assert.match`... */
export const assert: typeof nodeAssert = nodeAssert;

/** Deep strict equality (same prototypes, Object.is on primitives, bigint and bytes aware). */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  nodeAssert.deepStrictEqual(actual, expected, message);
}

/** Throws unless `fn` throws; returns the error. */
export function assertThrows(fn: () => unknown, message = "expected a throw"): Error {
  try {
    fn();
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
  throw new nodeAssert.AssertionError({ message });
}
