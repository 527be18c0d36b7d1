/**
 * Registers Deno tests that declare the permissions they need.
 *
 * `deno test --allow-net` must run what needs only the network and report the
 * rest as ignored, naming what is missing, never as passed. `requires` checks
 * each permission with `Deno.permissions.querySync` and marks the test ignored
 * with a name that says which flag would enable it.
 */

import { bitcoinNodeKind } from "../../lib/harness/bitcoin_node.ts";

export type PermissionName = "net" | "run" | "read" | "write" | "env" | "sys" | "ffi";

/** The permissions in `names` that this process has not been granted. */
export function missingPermissions(names: readonly PermissionName[]): PermissionName[] {
  return names.filter((name) => Deno.permissions.querySync({ name }).state !== "granted");
}

export interface RequiredTest {
  name: string;
  permissions: readonly PermissionName[];
  /** Needs Deno's unstable datagram API (`Deno.listenDatagram`, `--unstable-net`). */
  unstableNet?: boolean;
  /**
   * A feature only the project's stand-in node has (`-testbits`, `fillmempool`,
   * `-blockrelaydelay`): with real bitcoind (env `BITCOIND`, or on PATH) the
   * test is reported as ignored with this reason, never run and failed.
   */
  standInOnly?: string;
  fn: (t: Deno.TestContext) => void | Promise<void>;
  /** Defaults to true: suites that start servers leave no resource checks to Deno. */
  sanitizeResources?: boolean;
  sanitizeOps?: boolean;
}

/** True when Deno runs with `--unstable-net` (the datagram API exists). */
export function hasUnstableNet(): boolean {
  return typeof (Deno as { listenDatagram?: unknown }).listenDatagram === "function";
}

/** Registers a test that is ignored (not passed) when a permission is missing. */
export function requires(test: RequiredTest): void {
  const missing = missingPermissions(test.permissions).map((name) => `--allow-${name}`);
  if (test.unstableNet && !hasUnstableNet()) missing.push("--unstable-net");
  if (missing.length === 0 && test.standInOnly && bitcoinNodeKind() === "bitcoind") {
    missing.push(`the stand-in node (${test.standInOnly}; real bitcoind has none)`);
  }
  Deno.test({
    name: missing.length === 0 ? test.name : `${test.name} [ignored: needs ${missing.join(" ")}]`,
    ignore: missing.length > 0,
    sanitizeResources: test.sanitizeResources ?? true,
    sanitizeOps: test.sanitizeOps ?? true,
    fn: test.fn,
  });
}

/** Permissions every suite that spawns servers on loopback needs. */
export const SERVICE_PERMISSIONS: readonly PermissionName[] = [
  "net",
  "run",
  "read",
  "write",
  "env",
];
