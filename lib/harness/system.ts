/**
 * What the system suites need from a running three-region stack, whatever runs
 * it: where every region's Stratum, metrics and node answer, where the stores
 * are, and the operator's stop and start of one service. `native_system.ts` runs the
 * topology of `deno task up` (the same up.ts, supervisor and topology code, on
 * free ports in a temp data dir, steered through its control socket);
 * `tests/system/_compose.ts` runs compose.yaml with `docker compose` (TBG_SYSTEM_TARGET=compose).
 */

export type RegionName = "eu" | "us-east" | "asia";
export const REGION_NAMES: readonly RegionName[] = ["eu", "us-east", "asia"];
export const RELAY_NAMES: readonly RegionName[] = ["us-east", "asia"];

export interface HostPort {
  hostname: string;
  port: number;
}

export interface RegionEndpoints {
  name: RegionName;
  /** Stratum as a miner inside the region reaches it. */
  stratum: HostPort;
  /** Stratum as a miner at the eu vantage point reaches it (through the latency bridge). */
  stratumFromEu: HostPort | null;
  /** The engine's `/metrics` and `/health` base, `http://host:port`. */
  metricsUrl: string;
  /** The publisher's `/metrics` base. */
  publisherMetricsUrl: string;
  /** The region's Bitcoin node JSON-RPC. */
  rpc: { url: string; user: string; password: string };
  /** `pool_instance` in its events. */
  poolInstance: string;
  /** One-way delay to eu the topology declares, and its jitter, ms. */
  latencyMs: number;
  jitterMs: number;
}

export interface SystemEndpoints {
  regions: Record<RegionName, RegionEndpoints>;
  postgresUrl: string;
  redisUrl: string;
  collectorMetricsUrl: string;
  /** Relay engines' `primary.failover_threshold`, seconds (from their config). */
  failoverThresholdS: number;
  /** Relay engines' `primary.reconnect_interval`, seconds. */
  reconnectIntervalS: number;
}

/** The services a suite stops and starts, by the names `deno task stack` uses. */
export type ServiceName = "nats" | "ckpool-eu" | "ckpool-us-east" | "ckpool-asia" | "collector";

export interface SystemStack {
  readonly target: "native" | "compose";
  readonly endpoints: SystemEndpoints;
  /** The operator's stop: the service stays down until `startService`. */
  stopService(name: ServiceName): Promise<void>;
  /** Starts it again and waits until it is ready. */
  startService(name: ServiceName): Promise<void>;
  /** The status table, for failure messages. */
  describe(): Promise<string>;
  close(): Promise<void>;
}

export interface SystemOptions {
  /** Test name, for the data dir or project name. */
  label: string;
}
