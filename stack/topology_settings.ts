/**
 * Settings of the mining part of the stack (engines, pipeline, demo miner),
 * each with a documented default (docs/operations.md):
 *
 *   TBG_CHAIN             the chain of every node: regtest | signet  (regtest); signet is a
 *                         private OP_TRUE signet (-signet -signetchallenge=51)
 *   TBG_RELAY_MODE        relay engines' mode: passthrough | primary   (passthrough)
 *   TBG_RELAY_AUTH_TOKEN  relay link secret shared by eu and the relays (tbg-local-relay-token)
 *   TBG_RELAY_TLS         relay link over TLS, certificates made at start: 1 | 0  (1)
 *   TBG_FAILOVER_THRESHOLD        relay engines' primary.failover_threshold: seconds without
 *                                 the primary before a relay mines its own node's templates (3)
 *   TBG_RELAY_RECONNECT_INTERVAL  relay engines' primary.reconnect_interval, seconds (5)
 *   TBG_MINER_ADDRESS     the demo miners' payout address, valid on TBG_CHAIN
 *                         (demoMinerAddress(chain): bcrt1... on regtest, tb1... on signet)
 *   TBG_DEMO_MINER        demo miners: 1 (every region), 0 (none) or a region list (1)
 *                         such as eu,asia; TBG_DEMO_MINER_<REGION>=0|1 overrides one
 *   CKPOOL_BIN            the engine binary                           (<repo>/ckpool/ckpool)
 */

import { decodeAddress, encodeSegwitAddress, NETWORKS } from "../lib/bitcoin/address.ts";

/** How the stack reads its settings: `Deno.env.get` or a test's map. */
export type EnvLookup = (name: string) => string | undefined;

/** The chains the stack runs on; signet means the private OP_TRUE signet below. */
export const CHAINS = ["regtest", "signet"] as const;
export type Chain = typeof CHAINS[number];

/**
 * The stack's signet challenge: OP_TRUE, so any block with valid proof of work
 * is valid (BIP 325) and the demo miner's blocks are accepted.
 */
export const PRIVATE_SIGNET_CHALLENGE = "51";

/** The demo payout program: the ASCII text "tbg-demo-miner-addr!" (nobody holds its key). */
const DEMO_PROGRAM = new TextEncoder().encode("tbg-demo-miner-addr!");

/** The demo miners' P2WPKH address on `chain` (demo coins go nowhere). */
export function demoMinerAddress(chain: Chain): string {
  return encodeSegwitAddress(NETWORKS[chain].hrp, 0, DEMO_PROGRAM);
}

/** demoMinerAddress("regtest"): bcrt1qw33xwttyv4kk7ttdd9hx2u3dv9jxgu3p3snjgx. */
export const DEMO_MINER_ADDRESS = demoMinerAddress("regtest");

/** TBG_CHAIN, default regtest; anything else is refused by name. */
export function parseChain(value: string | undefined, source = "TBG_CHAIN"): Chain {
  if (value === undefined || value === "") return "regtest";
  if (!(CHAINS as readonly string[]).includes(value)) {
    throw new Error(`${source} must be one of ${CHAINS.join(", ")} (got "${value}")`);
  }
  return value as Chain;
}

export type RelayMode = "passthrough" | "primary";

/**
 * Relay link timings of the stack's relay engines (TBG_FAILOVER_THRESHOLD,
 * TBG_RELAY_RECONNECT_INTERVAL). Shorter than the engine's own defaults (10 s
 * and 5 s, docs/engine.md) so a stopped primary shows in the live view soon.
 */
export const DEFAULT_FAILOVER_THRESHOLD_S = 3;
export const DEFAULT_RECONNECT_INTERVAL_S = 5;

export interface MiningSettings {
  /** The chain of every region's node (absent: regtest). */
  chain?: Chain;
  /**
   * What relay regions' engines run as. `passthrough` mines the primary's
   * templates over the relay link (through the bridge); `primary` makes every
   * region build its own templates, the fallback while the relay link is new.
   */
  relayMode: RelayMode;
  relayAuthToken: string;
  /** The relay link over TLS (`relay.tls`, certificates in <stackDir>/tls); absent: on. */
  relayTls?: boolean;
  /** Relay engines' `primary.failover_threshold`, whole seconds (absent: DEFAULT_FAILOVER_THRESHOLD_S). */
  failoverThresholdS?: number;
  /** Relay engines' `primary.reconnect_interval`, whole seconds (absent: DEFAULT_RECONNECT_INTERVAL_S). */
  reconnectIntervalS?: number;
  minerAddress: string;
  demoMiner: boolean;
  /** Regions that run a demo miner; null: every region (when `demoMiner`). */
  demoMinerRegions?: readonly string[] | null;
  /** null: `<repoRoot>/ckpool/ckpool`. */
  engineBin: string | null;
}

export const DEFAULT_MINING: MiningSettings = {
  chain: "regtest",
  relayMode: "passthrough",
  relayAuthToken: "tbg-local-relay-token",
  relayTls: true,
  failoverThresholdS: DEFAULT_FAILOVER_THRESHOLD_S,
  reconnectIntervalS: DEFAULT_RECONNECT_INTERVAL_S,
  minerAddress: DEMO_MINER_ADDRESS,
  demoMiner: true,
  engineBin: null,
};

export function resolveMiningSettings(env: EnvLookup): MiningSettings {
  const chain = parseChain(env("TBG_CHAIN"));
  const mode = env("TBG_RELAY_MODE") ?? DEFAULT_MINING.relayMode;
  if (mode !== "passthrough" && mode !== "primary") {
    throw new Error(`TBG_RELAY_MODE must be "passthrough" or "primary" (got "${mode}")`);
  }
  const token = env("TBG_RELAY_AUTH_TOKEN") ?? DEFAULT_MINING.relayAuthToken;
  if (token.length < 16) {
    // The engine refuses relay tokens shorter than 16 bytes (config: primary.auth_token).
    throw new Error("TBG_RELAY_AUTH_TOKEN must have at least 16 characters");
  }
  const relayTls = env("TBG_RELAY_TLS") ?? "1";
  if (relayTls !== "0" && relayTls !== "1") {
    throw new Error(`TBG_RELAY_TLS must be 0 or 1 (got "${relayTls}")`);
  }
  const failoverThresholdS = parseSeconds(
    env,
    "TBG_FAILOVER_THRESHOLD",
    DEFAULT_FAILOVER_THRESHOLD_S,
  );
  const reconnectIntervalS = parseSeconds(
    env,
    "TBG_RELAY_RECONNECT_INTERVAL",
    DEFAULT_RECONNECT_INTERVAL_S,
  );
  const address = env("TBG_MINER_ADDRESS") ?? demoMinerAddress(chain);
  try {
    decodeAddress(address, NETWORKS[chain]);
  } catch (error) {
    throw new Error(
      `TBG_MINER_ADDRESS must be a ${chain} address (got "${address}": ${
        (error as Error).message
      })`,
    );
  }
  const demo = env("TBG_DEMO_MINER") ?? "1";
  const demoMinerRegions = parseDemoMinerRegions(demo, env);
  return {
    chain,
    relayMode: mode,
    relayAuthToken: token,
    relayTls: relayTls === "1",
    failoverThresholdS,
    reconnectIntervalS,
    minerAddress: address,
    demoMiner: demoMinerRegions === null || demoMinerRegions.length > 0,
    demoMinerRegions,
    engineBin: env("CKPOOL_BIN") || null,
  };
}

/** Whole seconds 1-3600 (the engine's range for primary.* timings), or `fallback` when unset. */
function parseSeconds(env: EnvLookup, name: string, fallback: number): number {
  const value = env(name);
  if (value === undefined || value === "") return fallback;
  const seconds = Number(value);
  if (!/^[0-9]+$/.test(value) || seconds < 1 || seconds > 3600) {
    throw new Error(`${name} must be whole seconds 1-3600 (got "${value}")`);
  }
  return seconds;
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
