/** The "where to connect" lines `deno task up` prints under its table. */

import type { StackConfig } from "./topology_types.ts";
import { chainOf, miningSettings } from "./topology_engine.ts";
import { portKey, portOf } from "./topology_ports.ts";

/** Stratum URL per region, then the monitor, metrics and stores, one line each. */
export function connectionSummary(config: StackConfig, databaseUrl: string): string[] {
  const port = (key: string) => portOf(config.ports, key);
  const lines = [
    `Point a miner at the Stratum URL of its region (user <${chainOf(config)} address>[.worker]):`,
  ];
  for (const region of config.regions) {
    lines.push(
      `  ${region.name.padEnd(8)} stratum+tcp://127.0.0.1:${port(portKey(region, "stratum"))}` +
        `   metrics http://127.0.0.1:${port(portKey(region, "metrics"))}/metrics`,
    );
  }
  lines.push(
    `  e.g. deno task miner -- --url stratum+tcp://127.0.0.1:${
      port(portKey(config.regions[0], "stratum"))
    } --user ${miningSettings(config).minerAddress}.rig1`,
    `Health monitor  http://127.0.0.1:${port("health")}/  (JSON: /health)`,
    `Miner view      http://127.0.0.1:${port("miner_api")}/miners/${
      miningSettings(config).minerAddress
    }  (JSON: /api/v1/miners/<address>)`,
    `PostgreSQL      ${databaseUrl}`,
    `Redis           redis://127.0.0.1:${port("redis")}`,
    `NATS            nats://127.0.0.1:${port("nats")}  (monitor http://127.0.0.1:${
      port("nats_monitor")
    }/)`,
  );
  return lines;
}
