/**
 * The miner API of the stack (functions/miner-api): the miner's own figures
 * from the collector's PostgreSQL tables, for addresses of the stack's chain.
 * It starts after the collector, whose migrations create what it reads.
 */

import { MINER_API_ALLOW_ENV } from "../functions/miner-api/config.ts";
import { httpAnswers } from "./supervisor/readiness.ts";
import type { ServiceSpec } from "./supervisor/types.ts";
import type { StackConfig } from "./topology_types.ts";
import { chainOf } from "./topology_engine.ts";
import { portOf } from "./topology_ports.ts";

const FUNCTIONS = new URL("../functions", import.meta.url).pathname;

export function minerApiService(config: StackConfig, databaseUrl: string): ServiceSpec {
  const port = portOf(config.ports, "miner_api");
  const pg = portOf(config.ports, "postgres");
  return {
    name: "miner-api",
    region: "global",
    dependsOn: ["collector"],
    endpoint: `http://127.0.0.1:${port}/miners/<address> (JSON: /api/v1/miners/<address>)`,
    ports: [port],
    command: () => ({
      cmd: Deno.execPath(),
      args: [
        "run",
        `--allow-net=127.0.0.1:${port},127.0.0.1:${pg}`,
        `--allow-env=${MINER_API_ALLOW_ENV.join(",")}`,
        `${FUNCTIONS}/miner-api/main.ts`,
      ],
      env: {
        MINER_API_LISTEN: `127.0.0.1:${port}`,
        DATABASE_URL: databaseUrl,
        MINER_API_NETWORK: chainOf(config),
      },
    }),
    ready: () => httpAnswers(`http://127.0.0.1:${port}/health`),
    stopSignal: "SIGTERM",
  };
}
