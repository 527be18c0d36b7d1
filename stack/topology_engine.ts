/**
 * The mining engine (ckpool/) of each region: its JSON config, written into
 * the data dir before every start, and its service spec. eu is the primary
 * (builds templates from its node, accepts relays on `eu.relay`); us-east and
 * asia are relays that reach the primary only through their latency bridge.
 * Config keys: docs/engine.md.
 */

import { httpAnswers, tcpOpen } from "./supervisor/readiness.ts";
import type { ServiceSpec } from "./supervisor/types.ts";
import { bitcoinServiceName, type StackConfig } from "./topology_types.ts";
import { bridgePort, bridgeServiceName } from "./topology_bridges.ts";
import { publisherServiceName, publisherSocket } from "./topology_pipeline.ts";
import { portKey, portOf } from "./topology_ports.ts";
import type { Region } from "./topology_regions.ts";
import { ensureServerCerts, type ServerCerts } from "../lib/tls_certs.ts";
import {
  type Chain,
  DEFAULT_FAILOVER_THRESHOLD_S,
  DEFAULT_MINING,
  DEFAULT_RECONNECT_INTERVAL_S,
  type MiningSettings,
} from "./topology_settings.ts";

/**
 * Share difficulty for CPU miners: a JavaScript thread hashing at ~30-50 kH/s
 * finds a 1e-5 share every second or so, and vardiff moves it toward one
 * share per 10 s. On regtest (network difficulty ~4.7e-10) every share is
 * also a block, so the chain grows about once per share; on the private
 * signet (minimum difficulty ~0.0011, ~4.8 M hashes) a block takes a thread
 * a few minutes.
 */
export const STACK_MINDIFF = 1e-9;
export const STACK_STARTDIFF = 1e-5;

export function engineServiceName(region: Region): string {
  return `ckpool-${region.name}`;
}

export function miningSettings(config: StackConfig): MiningSettings {
  return config.mining ?? DEFAULT_MINING;
}

/** The chain every node of the stack runs (regtest unless the settings say signet). */
export function chainOf(config: StackConfig): Chain {
  return miningSettings(config).chain ?? "regtest";
}

export function primaryRegion(config: StackConfig): Region {
  const primary = config.regions.find((r) => r.role === "primary");
  if (!primary) throw new Error("topology: no primary region");
  return primary;
}

function engineDir(config: StackConfig, region: Region): string {
  return `${config.stackDir}/${engineServiceName(region)}`;
}

/** The relay link's CA and the primary's certificate (made at start when missing). */
export function relayTlsFiles(config: StackConfig): ServerCerts {
  const dir = `${config.stackDir}/tls`;
  return {
    ca: { cert: `${dir}/relay-ca.pem`, key: `${dir}/relay-ca.key` },
    server: { cert: `${dir}/relay-primary.pem`, key: `${dir}/relay-primary.key` },
  };
}

function relayTlsOn(config: StackConfig): boolean {
  return miningSettings(config).relayTls ?? true;
}

/** The engine config of `region` (docs/engine.md keys). */
export function engineConfig(config: StackConfig, region: Region): Record<string, unknown> {
  const settings = miningSettings(config);
  const port = (name: string) => portOf(config.ports, portKey(region, name));
  const dir = engineDir(config, region);
  const base: Record<string, unknown> = {
    region: region.name,
    pool_instance: engineServiceName(region),
    btcd: [{
      url: `127.0.0.1:${port("bitcoin_rpc")}`,
      auth: config.rpcUser,
      pass: config.rpcPassword,
    }],
    serverurl: [`127.0.0.1:${port("stratum")}`],
    metrics_listen: `127.0.0.1:${port("metrics")}`,
    btcsig: "/thebitcoingame/",
    mindiff: STACK_MINDIFF,
    startdiff: STACK_STARTDIFF,
    blockpoll_ms: 100,
    logdir: dir,
    state_dir: dir,
    events: { enabled: true, socket_path: publisherSocket(config, region) },
  };
  if (region.role === "primary") {
    return {
      ...base,
      mode: "primary",
      relay_listen: `127.0.0.1:${port("relay")}`,
      primary: { auth_token: settings.relayAuthToken },
      ...(relayTlsOn(config) ? { relay: { tls: { ...relayTlsFiles(config).server } } } : {}),
    };
  }
  // TBG_RELAY_MODE=primary: the relay builds its own templates (fallback while the
  // relay link in ckpool/src is being wired); passthrough mines the primary's.
  const relayPort = bridgePort(config.ports, region, "relay");
  return {
    ...base,
    mode: settings.relayMode,
    primary: {
      host: "127.0.0.1",
      port: relayPort,
      template_push_port: relayPort,
      auth_token: settings.relayAuthToken,
      reconnect_interval: settings.reconnectIntervalS ?? DEFAULT_RECONNECT_INTERVAL_S,
      failover_threshold: settings.failoverThresholdS ?? DEFAULT_FAILOVER_THRESHOLD_S,
    },
    // The relay dials 127.0.0.1 (its bridge): the primary's certificate carries that IP.
    ...(relayTlsOn(config) && settings.relayMode === "passthrough"
      ? { relay: { tls: { ca: relayTlsFiles(config).ca.cert } } }
      : {}),
  };
}

function engineBin(config: StackConfig): string {
  return miningSettings(config).engineBin ?? `${config.repoRoot}/ckpool/ckpool`;
}

export function engineService(config: StackConfig, region: Region): ServiceSpec {
  const stratum = portOf(config.ports, portKey(region, "stratum"));
  const metrics = portOf(config.ports, portKey(region, "metrics"));
  const dir = engineDir(config, region);
  const configPath = `${dir}/ckpool.json`;
  const primary = primaryRegion(config);
  const dependsOn = [bitcoinServiceName(region), publisherServiceName(region)];
  if (region !== primary) dependsOn.push(bridgeServiceName(region), engineServiceName(primary));
  const relayPort = region === primary ? [portOf(config.ports, portKey(region, "relay"))] : [];
  const mode = region === primary ? "primary" : miningSettings(config).relayMode;
  return {
    name: engineServiceName(region),
    region: region.name,
    dependsOn,
    endpoint: `stratum+tcp://127.0.0.1:${stratum} (${mode}; ` +
      `http://127.0.0.1:${metrics}/metrics, /health)`,
    ports: [stratum, metrics, ...relayPort],
    prepare: async () => {
      await Deno.mkdir(dir, { recursive: true });
      try {
        await Deno.stat(engineBin(config));
      } catch {
        throw new Error(
          `${engineServiceName(region)}: no engine binary at ${engineBin(config)} ` +
            "(run `deno task build`, or set CKPOOL_BIN)",
        );
      }
      if (relayTlsOn(config)) await ensureServerCerts(relayTlsFiles(config));
      await Deno.writeTextFile(
        configPath,
        JSON.stringify(engineConfig(config, region), null, 2) + "\n",
      );
    },
    command: () => ({ cmd: engineBin(config), args: ["-c", configPath] }),
    // /health answers (any status) and Stratum accepts: the engine has a template.
    ready: async () =>
      await httpAnswers(`http://127.0.0.1:${metrics}/health`) && await tcpOpen(stratum),
    readyTimeoutMs: 60_000,
    stopSignal: "SIGTERM",
  };
}
