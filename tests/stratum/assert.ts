/**
 * The few assertions these tests use (JSR, home of @std/assert, is out of
 * reach here).
 */

/** Throws when `condition` is falsy. */
export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new Error(message);
}

/** Deep equality through JSON-like structural comparison (bigint aware). */
export function assertEquals<T>(actual: T, expected: T, message?: string): void {
  const a = stringify(actual);
  const e = stringify(expected);
  if (a !== e) throw new Error(`${message ?? "values differ"}\nactual:   ${a}\nexpected: ${e}`);
}

/** Throws unless `fn` throws; returns the error. */
export function assertThrows(fn: () => unknown, message = "expected a throw"): Error {
  try {
    fn();
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
  throw new Error(message);
}

function stringify(value: unknown): string {
  return JSON.stringify(value, (_key, v) => {
    if (typeof v === "bigint") return `${v}n`;
    if (v instanceof Uint8Array) return `bytes:${[...v].join(",")}`;
    return v;
  }) ?? String(value);
}
