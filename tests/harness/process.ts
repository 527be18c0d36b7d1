/**
 * Re-exports stack/lib/process.ts, where child-process handling lives (the
 * stack uses it too). Kept for the test files that import it from here.
 */

export * from "../../stack/lib/process.ts";
