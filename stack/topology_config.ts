/**
 * The stack's settings from the environment, each with a documented default
 * (docs/operations.md):
 *
 *   TBG_STACK_DIR        data and logs        (<repo>/.data/stack)
 *   TBG_STACK_REGIONS    regions to run       (eu,us-east,asia)
 *   TBG_STACK_PORT_BASE  port scheme base     (20000; 0 = free ports)
 *   TBG_PORT_<KEY>       one port             (see topology_ports.ts)
 *   TBG_RPC_USER / TBG_RPC_PASSWORD  regtest node RPC credentials (tbg / tbg-regtest)
 *   BITCOIND             a bitcoind binary to use instead of stack/regtest/main.ts
 *   engines, relay link and demo miner: see topology_settings.ts
 */

import { resolveBitcoinImpl } from "./supervisor/native/bitcoin.ts";
import { postgresOsUser } from "./supervisor/run_as.ts";
import type { StackConfig } from "./topology_types.ts";
import { planPorts } from "./topology_ports.ts";
import { parseRegions, REGIONS } from "./topology_regions.ts";
import { type EnvLookup, resolveMiningSettings } from "./topology_settings.ts";

function absolute(path: string): string {
  return path.startsWith("/") ? path : `${Deno.cwd()}/${path}`;
}

export function resolveStackConfig(env: EnvLookup, repoRoot: string): StackConfig {
  const regions = parseRegions(env("TBG_STACK_REGIONS") ?? REGIONS.map((r) => r.name).join(","));
  const rpcUser = env("TBG_RPC_USER") ?? "tbg";
  const rpcPassword = env("TBG_RPC_PASSWORD") ?? "tbg-regtest";
  if (rpcUser === "" || rpcUser.includes(":")) {
    throw new Error(`TBG_RPC_USER must be non-empty without ":" (got "${rpcUser}")`);
  }
  return {
    repoRoot,
    stackDir: absolute(env("TBG_STACK_DIR") ?? `${repoRoot}/.data/stack`).replace(/\/+$/, ""),
    regions,
    ports: planPorts(regions, env),
    rpcUser,
    rpcPassword,
    bitcoin: resolveBitcoinImpl(repoRoot),
    postgresOsUser: postgresOsUser(),
    database: "tbg",
    mining: resolveMiningSettings(env),
  };
}
