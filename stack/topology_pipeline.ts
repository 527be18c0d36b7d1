/**
 * The event pipeline of the stack: one publisher per region (engine socket ->
 * spool -> JetStream; relay regions reach NATS through their bridge), the
 * collector (JetStream -> PostgreSQL + Redis) and the health monitor polling
 * every region's engine. Each runs with the narrowest Deno permissions that
 * cover its ports and directories.
 */

import { HEALTH_ENV_VARS } from "../functions/health/config.ts";
import { PUBLISHER_ENV_VARS } from "../functions/publisher/config.ts";
import { exists } from "../lib/fs.ts";
import { httpAnswers } from "./supervisor/readiness.ts";
import type { ServiceSpec } from "./supervisor/types.ts";
import type { StackConfig } from "./topology_types.ts";
import { bridgePort, bridgeServiceName } from "./topology_bridges.ts";
import { portKey, portOf } from "./topology_ports.ts";
import type { Region } from "./topology_regions.ts";

const FUNCTIONS = new URL("../functions", import.meta.url).pathname;

export function publisherServiceName(region: Region): string {
  return `publisher-${region.name}`;
}

/**
 * Where the engines' event sockets live: `<stackDir>/run`, or a directory under
 * /tmp named after the stack dir when that path would pass the ~107-byte limit
 * of Unix socket paths.
 */
export function socketDir(config: StackConfig): string {
  const preferred = `${config.stackDir}/run`;
  if (preferred.length + "/events-us-east.sock".length < 100) return preferred;
  const tag = config.stackDir.replace(/[^A-Za-z0-9]+/g, "_").slice(-40);
  return `/tmp/tbg-run${tag}`;
}

/** The datagram socket `region`'s publisher binds and its engine sends to. */
export function publisherSocket(config: StackConfig, region: Region): string {
  return `${socketDir(config)}/events-${region.name}.sock`;
}

/** The NATS port `region` uses: the hub for the primary, its bridge for a relay. */
function natsPortFor(config: StackConfig, region: Region): number {
  return region.role === "primary"
    ? portOf(config.ports, "nats")
    : bridgePort(config.ports, region, "nats");
}

export function publisherService(config: StackConfig, region: Region): ServiceSpec {
  const dir = `${config.stackDir}/${publisherServiceName(region)}`;
  const sockets = socketDir(config);
  const socket = publisherSocket(config, region);
  const nats = natsPortFor(config, region);
  const metrics = portOf(config.ports, portKey(region, "publisher_metrics"));
  const natsVia = region.role === "primary" ? "" : ` via ${bridgeServiceName(region)}`;
  return {
    name: publisherServiceName(region),
    region: region.name,
    dependsOn: region.role === "primary" ? ["nats"] : ["nats", bridgeServiceName(region)],
    endpoint: `unix:${socket} -> nats://127.0.0.1:${nats}${natsVia} ` +
      `(http://127.0.0.1:${metrics}/metrics)`,
    ports: [metrics],
    prepare: async () => {
      await Deno.mkdir(`${dir}/spool`, { recursive: true });
      await Deno.mkdir(sockets, { recursive: true });
    },
    command: () => ({
      cmd: Deno.execPath(),
      args: [
        "run",
        "--unstable-net",
        `--allow-net=127.0.0.1:${nats},127.0.0.1:${metrics},unix:${socket}`,
        `--allow-read=${dir},${sockets}`,
        `--allow-write=${dir},${sockets}`,
        `--allow-env=${PUBLISHER_ENV_VARS.join(",")}`,
        `${FUNCTIONS}/publisher/main.ts`,
      ],
      env: {
        REGION: region.name,
        NATS_URL: `nats://127.0.0.1:${nats}`,
        PUBLISHER_SOCKET: socket,
        PUBLISHER_SPOOL_DIR: `${dir}/spool`,
        PUBLISHER_DEADLETTER: `${dir}/deadletter.jsonl`,
        PUBLISHER_METRICS_LISTEN: `127.0.0.1:${metrics}`,
      },
    }),
    ready: async () => exists(socket) && await httpAnswers(`http://127.0.0.1:${metrics}/health`),
    stopSignal: "SIGTERM",
  };
}

export function collectorService(config: StackConfig, databaseUrl: string): ServiceSpec {
  const nats = portOf(config.ports, "nats");
  const pg = portOf(config.ports, "postgres");
  const redis = portOf(config.ports, "redis");
  const metrics = portOf(config.ports, "collector_metrics");
  return {
    name: "collector",
    region: "global",
    dependsOn: ["nats", "redis", "postgres"],
    endpoint: `nats -> ${databaseUrl} + redis (http://127.0.0.1:${metrics}/metrics)`,
    ports: [metrics],
    command: () => ({
      cmd: Deno.execPath(),
      args: [
        "run",
        "--unstable-net",
        `--allow-net=127.0.0.1:${nats},127.0.0.1:${pg},127.0.0.1:${redis},127.0.0.1:${metrics}`,
        `--allow-read=${FUNCTIONS}/collector/migrations`,
        // ioredis's `debug` dependency enumerates the environment (functions/collector/README.md).
        "--allow-env",
        `${FUNCTIONS}/collector/main.ts`,
        "--source",
        "nats",
      ],
      env: {
        NATS_URL: `nats://127.0.0.1:${nats}`,
        DATABASE_URL: databaseUrl,
        REDIS_URL: `redis://127.0.0.1:${redis}`,
        COLLECTOR_METRICS_LISTEN: `127.0.0.1:${metrics}`,
      },
    }),
    ready: () => httpAnswers(`http://127.0.0.1:${metrics}/health`),
    stopSignal: "SIGTERM",
  };
}

/** The health monitor's REGIONS: every region's engine, polled directly. */
export function healthRegions(config: StackConfig): Array<Record<string, string>> {
  return config.regions.map((region) => {
    const metrics = portOf(config.ports, portKey(region, "metrics"));
    return {
      name: region.name,
      health_url: `http://127.0.0.1:${metrics}/health`,
      metrics_url: `http://127.0.0.1:${metrics}/metrics`,
      stratum: `127.0.0.1:${portOf(config.ports, portKey(region, "stratum"))}`,
    };
  });
}

export function healthService(config: StackConfig, engines: readonly string[]): ServiceSpec {
  const port = portOf(config.ports, "health");
  return {
    name: "health",
    region: "global",
    dependsOn: engines,
    endpoint: `http://127.0.0.1:${port}/ (JSON: /health, /health/<region>)`,
    ports: [port],
    command: () => ({
      cmd: Deno.execPath(),
      args: [
        "run",
        "--allow-net=127.0.0.1",
        `--allow-env=${HEALTH_ENV_VARS.join(",")}`,
        `${FUNCTIONS}/health/main.ts`,
      ],
      env: {
        REGIONS: JSON.stringify(healthRegions(config)),
        POLL_INTERVAL: "2",
        HEALTH_LISTEN: `127.0.0.1:${port}`,
      },
    }),
    ready: () => httpAnswers(`http://127.0.0.1:${port}/health`),
    stopSignal: "SIGTERM",
  };
}
