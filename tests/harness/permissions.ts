/**
 * Registers Deno tests that declare the permissions they need.
 *
 * `deno test --allow-net` must run what needs only the network and report the
 * rest as ignored, naming what is missing, never as passed. `requires` checks
 * each permission with `Deno.permissions.querySync` and marks the test ignored
 * with a name that says which flag would enable it.
 */

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
