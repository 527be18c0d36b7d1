/**
 * The native stack's port scheme. Everything listens on 127.0.0.1.
 *
 *   shared services:  base + offset       (health 20090, miner API 20091, collector 20102,
 *                                          redis 20379, nats 20422, postgres 20432,
 *                                          nats monitor 20822)
 *   region R:         base + 1000 * (R.index + 1) + offset
 *                     (eu 21xxx, us-east 22xxx, asia 23xxx: engine metrics x100, publisher
 *                     x101, stratum x333, bitcoin RPC x443, P2P x444, bridges x522/x544/x581,
 *                     relay link x881,
 *                     eu-vantage stratum x533)
 *
 * `TBG_STACK_PORT_BASE` moves the whole scheme (default 20000); `0` picks free
 * ports from the OS instead (tests). `TBG_PORT_<KEY>` overrides one port, the key
 * upper-cased with `-`/`.` as `_`: `TBG_PORT_NATS`, `TBG_PORT_US_EAST_STRATUM`.
 */

import { freePort } from "../lib/ports.ts";
import type { Region } from "./topology_regions.ts";

export const DEFAULT_PORT_BASE = 20000;

/** Offsets from the base for services every region shares. */
export const SHARED_PORT_OFFSETS: Readonly<Record<string, number>> = {
  health: 90,
  miner_api: 91,
  collector_metrics: 102,
  redis: 379,
  nats: 422,
  postgres: 432,
  nats_monitor: 822,
};

/**
 * Region-port offsets of the latency-bridge listeners (topology_bridges.ts),
 * inside the x500-x599 block kept for bridges. Planned for every region; only
 * relay regions run a bridge.
 */
export const BRIDGE_PORT_OFFSETS: Readonly<Record<string, number>> = {
  bridge_nats: 522,
  bridge_stratum: 533,
  bridge_bitcoin_p2p: 544,
  bridge_relay: 581,
};

/** Offsets from a region's base (x500-x599 are kept for latency-bridge listeners). */
export const REGION_PORT_OFFSETS: Readonly<Record<string, number>> = {
  metrics: 100,
  publisher_metrics: 101,
  stratum: 333,
  bitcoin_rpc: 443,
  bitcoin_p2p: 444,
  relay: 881,
  ...BRIDGE_PORT_OFFSETS,
};

export type PortPlan = ReadonlyMap<string, number>;

/** `nats` for shared ports, `eu.bitcoin_rpc` for region ports. */
export function portKey(region: Region | null, name: string): string {
  return region ? `${region.name}.${name}` : name;
}

export function portEnvName(key: string): string {
  return `TBG_PORT_${key.toUpperCase().replace(/[^A-Z0-9]/g, "_")}`;
}

function parsePort(text: string, source: string, min: number, max: number): number {
  const value = Number(text);
  if (!/^\d+$/.test(text.trim()) || value < min || value > max) {
    throw new Error(`${source} must be an integer ${min}-${max} (got "${text}")`);
  }
  return value;
}

/** Every port of the stack for `regions`, from `env` (a lookup such as `Deno.env.get`). */
export function planPorts(
  regions: readonly Region[],
  env: (name: string) => string | undefined,
): PortPlan {
  const baseText = env("TBG_STACK_PORT_BASE");
  const base = baseText === undefined
    ? DEFAULT_PORT_BASE
    : parsePort(baseText, "TBG_STACK_PORT_BASE", 0, 65535 - 1000 * (regions.length + 1));
  if (base !== 0 && base < 1024) {
    throw new Error(`TBG_STACK_PORT_BASE must be 0 (free ports) or at least 1024 (got ${base})`);
  }
  const wanted: Array<[string, number]> = [];
  for (const [name, offset] of Object.entries(SHARED_PORT_OFFSETS)) {
    wanted.push([portKey(null, name), base + offset]);
  }
  for (const region of regions) {
    for (const [name, offset] of Object.entries(REGION_PORT_OFFSETS)) {
      wanted.push([portKey(region, name), base + 1000 * (region.index + 1) + offset]);
    }
  }
  const plan = new Map<string, number>();
  const owner = new Map<number, string>();
  for (const [key, schemePort] of wanted) {
    const envName = portEnvName(key);
    const override = env(envName);
    let port = override === undefined ? schemePort : parsePort(override, envName, 1, 65535);
    if (override === undefined && base === 0) {
      do port = freePort(); while (owner.has(port));
    }
    const clash = owner.get(port);
    if (clash) throw new Error(`ports: ${key} and ${clash} both want port ${port}`);
    owner.set(port, key);
    plan.set(key, port);
  }
  return plan;
}

/** The port for `key`; throws naming the key when the plan has none. */
export function portOf(plan: PortPlan, key: string): number {
  const port = plan.get(key);
  if (port === undefined) throw new Error(`ports: no port planned for "${key}"`);
  return port;
}
