/**
 * The demo CPU miners (tools/miner.ts, one worker thread each), one on each
 * region's Stratum port unless switched off (TBG_DEMO_MINER=eu,asia, 0, or
 * TBG_DEMO_MINER_<REGION>=0), paying the demo regtest address. Ready once
 * authorized, which the miner's JSON log says.
 */

import type { ServiceSpec } from "./supervisor/types.ts";
import type { StackConfig } from "./topology_types.ts";
import { engineServiceName, miningSettings } from "./topology_engine.ts";
import { portKey, portOf } from "./topology_ports.ts";
import type { Region } from "./topology_regions.ts";

const TOOLS = new URL("../tools", import.meta.url).pathname;
const LIB = new URL("../lib", import.meta.url).pathname;

export function minerServiceName(region: Region): string {
  return `miner-${region.name}`;
}

/** The regions of `config` that run a demo miner, in topology order. */
export function demoMinerRegions(config: StackConfig): Region[] {
  const settings = miningSettings(config);
  if (!settings.demoMiner) return [];
  const wanted = settings.demoMinerRegions ?? null;
  return config.regions.filter((r) => wanted === null || wanted.includes(r.name));
}

/** The Stratum user of a region's demo miner: `<address>.demo-<region>`. */
export function demoMinerUser(config: StackConfig, region: Region): string {
  return `${miningSettings(config).minerAddress}.demo-${region.name}`;
}

function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** `logDir`: where the supervisor writes `<service>.log`. */
export function minerService(config: StackConfig, region: Region, logDir: string): ServiceSpec {
  const port = portOf(config.ports, portKey(region, "stratum"));
  const name = minerServiceName(region);
  const logPath = `${logDir}/${name}.log`;
  // The log is appended across restarts: count authorizations, not their presence.
  let authorizedBefore = 0;
  const authorizations = () => readText(logPath).split('"msg":"authorized"').length - 1;
  return {
    name,
    region: region.name,
    dependsOn: [engineServiceName(region)],
    endpoint: `stratum+tcp://127.0.0.1:${port} as ${demoMinerUser(config, region)} (1 thread)`,
    command: () => {
      authorizedBefore = authorizations();
      return {
        cmd: Deno.execPath(),
        args: [
          "run",
          `--allow-net=127.0.0.1:${port}`,
          // The thread runs in a worker (its modules need reading), which keeps the
          // miner's socket and signal handling responsive.
          `--allow-read=${TOOLS},${LIB}`,
          `${TOOLS}/miner.ts`,
          "--url",
          `stratum+tcp://127.0.0.1:${port}`,
          "--user",
          demoMinerUser(config, region),
          "--threads",
          "1",
        ],
      };
    },
    ready: () => Promise.resolve(authorizations() > authorizedBefore),
    stopSignal: "SIGTERM",
  };
}
