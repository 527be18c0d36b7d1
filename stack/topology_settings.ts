/**
 * Settings of the mining part of the stack (engines, pipeline, demo miner),
 * each with a documented default (docs/operations.md):
 *
 *   TBG_RELAY_MODE        relay engines' mode: passthrough | primary   (passthrough)
 *   TBG_RELAY_AUTH_TOKEN  relay link secret shared by eu and the relays (tbg-local-relay-token)
 *   TBG_MINER_ADDRESS     the demo miner's payout address             (DEMO_MINER_ADDRESS)
 *   TBG_DEMO_MINER        demo miners: 1 (every region), 0 (none) or a region list (1)
 *                         such as eu,asia; TBG_DEMO_MINER_<REGION>=0|1 overrides one
 *   CKPOOL_BIN            the engine binary                           (<repo>/ckpool/ckpool)
 */

import type { EnvLookup } from "./topology_config.ts";

/**
 * A valid regtest P2WPKH address whose 20-byte program is the ASCII text
 * "tbg-demo-miner-addr!" (nobody holds its key: demo coins go nowhere).
 */
export const DEMO_MINER_ADDRESS = "bcrt1qw33xwttyv4kk7ttdd9hx2u3dv9jxgu3p3snjgx";

export type RelayMode = "passthrough" | "primary";

export interface MiningSettings {
  /**
   * What relay regions' engines run as. `passthrough` mines the primary's
   * templates over the relay link (through the bridge); `primary` makes every
   * region build its own templates, the fallback while the relay link is new.
   */
  relayMode: RelayMode;
  relayAuthToken: string;
  minerAddress: string;
  demoMiner: boolean;
  /** Regions that run a demo miner; null: every region (when `demoMiner`). */
  demoMinerRegions?: readonly string[] | null;
  /** null: `<repoRoot>/ckpool/ckpool`. */
  engineBin: string | null;
}

export const DEFAULT_MINING: MiningSettings = {
  relayMode: "passthrough",
  relayAuthToken: "tbg-local-relay-token",
  minerAddress: DEMO_MINER_ADDRESS,
  demoMiner: true,
  engineBin: null,
};

export function resolveMiningSettings(env: EnvLookup): MiningSettings {
  const mode = env("TBG_RELAY_MODE") ?? DEFAULT_MINING.relayMode;
  if (mode !== "passthrough" && mode !== "primary") {
    throw new Error(`TBG_RELAY_MODE must be "passthrough" or "primary" (got "${mode}")`);
  }
  const token = env("TBG_RELAY_AUTH_TOKEN") ?? DEFAULT_MINING.relayAuthToken;
  if (token.length < 16) {
    // The engine refuses relay tokens shorter than 16 bytes (config: primary.auth_token).
    throw new Error("TBG_RELAY_AUTH_TOKEN must have at least 16 characters");
  }
  const address = env("TBG_MINER_ADDRESS") ?? DEFAULT_MINING.minerAddress;
  if (!/^[A-Za-z0-9]{26,90}$/.test(address)) {
    throw new Error(`TBG_MINER_ADDRESS must be a regtest address (got "${address}")`);
  }
  const demo = env("TBG_DEMO_MINER") ?? "1";
  const demoMinerRegions = parseDemoMinerRegions(demo, env);
  return {
    relayMode: mode,
    relayAuthToken: token,
    minerAddress: address,
    demoMiner: demoMinerRegions === null || demoMinerRegions.length > 0,
    demoMinerRegions,
    engineBin: env("CKPOOL_BIN") || null,
  };
}

const DEMO_REGIONS = ["eu", "us-east", "asia"] as const;

/** TBG_DEMO_MINER (1, 0 or a region list) and TBG_DEMO_MINER_<REGION>; null means every region. */
function parseDemoMinerRegions(value: string, env: EnvLookup): string[] | null {
  let regions: string[];
  if (value === "1") regions = [...DEMO_REGIONS];
  else if (value === "0") regions = [];
  else {
    regions = value.split(",").map((s) => s.trim()).filter((s) => s !== "");
    for (const name of regions) {
      if (!(DEMO_REGIONS as readonly string[]).includes(name)) {
        throw new Error(
          `TBG_DEMO_MINER must be 0, 1 or a list of ${DEMO_REGIONS.join(", ")} (got "${value}")`,
        );
      }
    }
  }
  let overridden = false;
  for (const name of DEMO_REGIONS) {
    const key = `TBG_DEMO_MINER_${name.toUpperCase().replace(/-/g, "_")}`;
    const one = env(key);
    if (one === undefined) continue;
    if (one !== "0" && one !== "1") throw new Error(`${key} must be 0 or 1 (got "${one}")`);
    overridden = true;
    regions = one === "1" ? [...new Set([...regions, name])] : regions.filter((r) => r !== name);
  }
  return value === "1" && !overridden ? null : regions;
}
