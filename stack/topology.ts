/**
 * What `deno task up` runs, as data: one `ServiceSpec` per process, grouped by
 * region, with dependencies and readiness probes. Shared: NATS (stream created
 * once it is ready), Redis, PostgreSQL, the collector, the miner API and the health monitor.
 * Per region: a regtest node, a publisher and an engine (topology_engine.ts);
 * per relay region a latency bridge (topology_bridges.ts), the only path to
 * eu; in every region a demo CPU miner unless switched off (topology_miner.ts).
 */

import { NATS_STOP_SIGNAL, natsCommand, natsReady } from "./supervisor/native/nats.ts";
import { REDIS_STOP_SIGNAL, redisCommand, redisReady } from "./supervisor/native/redis.ts";
import {
  ensureDatabase,
  initPostgres,
  POSTGRES_STOP_SIGNAL,
  postgresCommand,
  type PostgresLayout,
  postgresReady,
  postgresUrl,
} from "./supervisor/native/postgres.ts";
import {
  bitcoinCommand,
  type BitcoinImpl,
  type BitcoinLayout,
  bitcoinReady,
} from "./supervisor/native/bitcoin.ts";
import { canEnter } from "./supervisor/run_as.ts";
import type { ServiceSpec } from "./supervisor/types.ts";
import { bridgePort, bridgeServiceName, bridgeServices } from "./topology_bridges.ts";
import { chainOf, engineService, engineServiceName, miningSettings } from "./topology_engine.ts";
import { demoMinerRegions, minerService } from "./topology_miner.ts";
import { minerApiService } from "./topology_miner_api.ts";
import { collectorService, healthService, publisherService } from "./topology_pipeline.ts";
import { portKey, portOf } from "./topology_ports.ts";
import type { Region } from "./topology_regions.ts";
import { bitcoinServiceName, type StackConfig } from "./topology_types.ts";

/** Where the supervisor writes `<service>.log`. */
export function stackLogDir(config: StackConfig): string {
  return `${config.stackDir}/logs`;
}

export interface Topology {
  services: ServiceSpec[];
  /** Things worth telling the operator (a skipped service, a moved data dir). */
  notes: string[];
}

function natsService(config: StackConfig): ServiceSpec {
  const layout = {
    storeDir: `${config.stackDir}/nats`,
    port: portOf(config.ports, "nats"),
    monitorPort: portOf(config.ports, "nats_monitor"),
    serverName: "tbg-hub",
  };
  return {
    name: "nats",
    region: "global",
    dependsOn: [],
    endpoint: `nats://127.0.0.1:${layout.port} (monitor :${layout.monitorPort})`,
    ports: [layout.port, layout.monitorPort],
    prepare: () => Deno.mkdir(layout.storeDir, { recursive: true }),
    command: () => natsCommand(layout),
    ready: natsReady(layout),
    // `deno task nats:init` as a one-shot step: stream MINING_EVENTS and consumer
    // event-pipeline exist before any publisher or the collector starts.
    afterReady: async () => {
      const { initNats } = await import("../nats/init.ts");
      await initNats(`nats://127.0.0.1:${layout.port}`);
    },
    stopSignal: NATS_STOP_SIGNAL,
  };
}

function redisService(config: StackConfig): ServiceSpec {
  const layout = { dir: `${config.stackDir}/redis`, port: portOf(config.ports, "redis") };
  return {
    name: "redis",
    region: "global",
    dependsOn: [],
    endpoint: `redis://127.0.0.1:${layout.port}`,
    ports: [layout.port],
    prepare: () => Deno.mkdir(layout.dir, { recursive: true }),
    command: () => redisCommand(layout),
    ready: redisReady(layout),
    // Redis answers PING only once its append-only file is loaded: hundreds of MB of
    // streams (a long chaos bench) take tens of seconds on a busy box.
    readyTimeoutMs: 120_000,
    stopSignal: REDIS_STOP_SIGNAL,
  };
}

/**
 * PostgreSQL's directory: `<stackDir>/postgres`, unless we are root and the
 * `postgres` OS user cannot reach it (a checkout under /root): then a
 * directory under /var/tmp named after the stack dir, reported in the notes.
 */
async function postgresRoot(config: StackConfig, notes: string[]): Promise<string> {
  const preferred = `${config.stackDir}/postgres`;
  await Deno.mkdir(config.stackDir, { recursive: true });
  if (await canEnter(config.stackDir, config.postgresOsUser)) return preferred;
  const tag = config.stackDir.replace(/[^A-Za-z0-9]+/g, "_").slice(-60);
  const moved = `/var/tmp/tbg-stack${tag}/postgres`;
  notes.push(
    `postgres: the "postgres" OS user cannot enter ${config.stackDir}; its data lives in ${moved}`,
  );
  return moved;
}

async function postgresService(config: StackConfig, notes: string[]): Promise<ServiceSpec> {
  const root = await postgresRoot(config, notes);
  const layout: PostgresLayout = {
    dataDir: `${root}/data`,
    // Unix socket paths are limited to ~107 bytes; fall back to /tmp for deep checkouts.
    socketDir: root.length < 70 ? `${root}/run` : Deno.makeTempDirSync({ prefix: "tbg-pg-" }),
    port: portOf(config.ports, "postgres"),
    user: "tbg",
    osUser: config.postgresOsUser,
  };
  return {
    name: "postgres",
    region: "global",
    dependsOn: [],
    endpoint: postgresUrl(layout, config.database),
    ports: [layout.port],
    prepare: () => initPostgres(layout),
    command: () => postgresCommand(layout),
    ready: postgresReady(layout),
    readyTimeoutMs: 60_000,
    afterReady: () => ensureDatabase(layout, config.database),
    stopSignal: POSTGRES_STOP_SIGNAL,
    processGroup: true,
  };
}

function bitcoinService(config: StackConfig, impl: BitcoinImpl, region: Region): ServiceSpec {
  const primary = config.regions.find((r) => r.role === "primary")!;
  const layout: BitcoinLayout = {
    dataDir: `${config.stackDir}/${bitcoinServiceName(region)}`,
    rpcPort: portOf(config.ports, portKey(region, "bitcoin_rpc")),
    p2pPort: portOf(config.ports, portKey(region, "bitcoin_p2p")),
    rpcUser: config.rpcUser,
    rpcPassword: config.rpcPassword,
    // Relays peer with the primary's node through their latency bridge.
    addNodes: region === primary ? [] : [bridgePort(config.ports, region, "bitcoin_p2p")],
    chain: miningSettings(config).chain,
  };
  return {
    name: bitcoinServiceName(region),
    region: region.name,
    dependsOn: region === primary ? [] : [bitcoinServiceName(primary), bridgeServiceName(region)],
    endpoint: `http://127.0.0.1:${layout.rpcPort} (p2p :${layout.p2pPort})`,
    ports: [layout.rpcPort, layout.p2pPort],
    prepare: () => Deno.mkdir(layout.dataDir, { recursive: true }),
    command: () => bitcoinCommand(impl, layout),
    ready: bitcoinReady(layout),
    readyTimeoutMs: 60_000,
  };
}

/** The services of the stack for `config`, in declaration order. */
export async function buildTopology(config: StackConfig): Promise<Topology> {
  const notes: string[] = [];
  const postgres = await postgresService(config, notes);
  const services: ServiceSpec[] = [natsService(config), redisService(config), postgres];
  services.push(collectorService(config, postgres.endpoint));
  services.push(minerApiService(config, postgres.endpoint));
  services.push(...bridgeServices(config));
  for (const region of config.regions) services.push(publisherService(config, region));
  if (!config.bitcoin) {
    notes.push(
      "bitcoin: no regtest node found (stack/regtest/main.ts, env BITCOIND or bitcoind on PATH); " +
        "starting without nodes, engines, health monitor or miner",
    );
    return { services, notes };
  }
  const impl = config.bitcoin;
  const chain = chainOf(config);
  notes.push(`bitcoin: ${chain} nodes run ${impl.kind === "bitcoind" ? impl.path : impl.script}`);
  const settings = miningSettings(config);
  const relays = config.regions.filter((r) => r.role === "relay");
  if (relays.length > 0) notes.push(`relay engines run in ${settings.relayMode} mode`);
  for (const region of config.regions) services.push(bitcoinService(config, impl, region));
  for (const region of config.regions) services.push(engineService(config, region));
  services.push(healthService(config, config.regions.map(engineServiceName)));
  for (const region of demoMinerRegions(config)) {
    services.push(minerService(config, region, stackLogDir(config)));
  }
  return { services, notes };
}
