/**
 * Re-exports stack/lib/ports.ts, where free ports and waiting live (the stack
 * uses them too). Kept for the test files that import them from here.
 */

export * from "../../stack/lib/ports.ts";
