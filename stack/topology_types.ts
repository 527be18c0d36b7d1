/**
 * The names the topology modules share: the stack's configuration and the
 * regtest node's service name. A leaf: it imports only types, none from a
 * topology_*.ts module that builds services, so topology.ts and the modules
 * it assembles (bridges, engine, miner, pipeline) import each other in one
 * direction only.
 */

import type { BitcoinImpl } from "./supervisor/native/bitcoin.ts";
import type { OsUser } from "./supervisor/run_as.ts";
import type { PortPlan } from "./topology_ports.ts";
import type { Region } from "./topology_regions.ts";
import type { MiningSettings } from "./topology_settings.ts";

export interface StackConfig {
  /** The repository checkout (for scripts such as stack/regtest/main.ts). */
  repoRoot: string;
  /** Every service's data lives in a subdirectory; logs in `<stackDir>/logs`. */
  stackDir: string;
  regions: readonly Region[];
  ports: PortPlan;
  rpcUser: string;
  rpcPassword: string;
  /** The regtest node implementation; null starts no nodes (and says so). */
  bitcoin: BitcoinImpl | null;
  /** OS user for PostgreSQL (`postgres` when root), null for ourselves. */
  postgresOsUser: OsUser | null;
  /** The database the collector writes. */
  database: string;
  /** Engines, relay link and demo miner; absent means DEFAULT_MINING. */
  mining?: MiningSettings;
}

export function bitcoinServiceName(region: Region): string {
  return `bitcoind-${region.name}`;
}
