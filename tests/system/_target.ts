/**
 * Which SystemStack the suites run against: native (default) or Compose
 * (TBG_SYSTEM_TARGET=compose). `systemTest` registers a suite, ignored with
 * the reason when its target cannot run here.
 */

import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { composeUnavailable, startComposeSystem } from "./_compose.ts";
import { startNativeSystem } from "../../lib/harness/native_system.ts";
import type { SystemOptions, SystemStack } from "../../lib/harness/system.ts";

export type Target = "native" | "compose";

export function systemTarget(): Target {
  const value = Deno.env.get("TBG_SYSTEM_TARGET") ?? "native";
  if (value !== "native" && value !== "compose") {
    throw new Error(`TBG_SYSTEM_TARGET must be "native" or "compose" (got "${value}")`);
  }
  return value;
}

export function startSystem(options: SystemOptions): Promise<SystemStack> {
  return systemTarget() === "compose" ? startComposeSystem(options) : startNativeSystem(options);
}

/** Registers a system suite; on Compose without Docker it is ignored, naming why. */
export function systemTest(name: string, fn: () => Promise<void>): void {
  const target = systemTarget();
  const why = target === "compose" ? composeUnavailable() : null;
  if (why) {
    Deno.test({ name: `${name} [compose; ignored: ${why}]`, ignore: true, fn });
    return;
  }
  requires({
    name: target === "compose" ? `${name} [compose]` : name,
    permissions: SERVICE_PERMISSIONS,
    unstableNet: true,
    sanitizeOps: false,
    sanitizeResources: false,
    fn,
  });
}
