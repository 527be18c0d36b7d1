/** Publisher configuration from the environment (see README.md for each variable). */

import {
  ConfigError,
  envEnum,
  envHostPort,
  envInt,
  envLogLevel,
  type EnvSource,
  envString,
  type HostPort,
} from "../lib/config.ts";
import { isRegionToken } from "../lib/envelope.ts";
import type { LogLevel } from "../lib/log.ts";

export interface PublisherConfig {
  region: string;
  natsUrl: string;
  /** NATS_TLS_CA: CA file for TLS to NATS; "" = no private CA. */
  natsTlsCa: string;
  socketPath: string;
  spoolDir: string;
  deadLetterPath: string;
  deadLetterMaxBytes: number;
  spoolMaxBytes: number;
  segmentBytes: number;
  fsync: boolean;
  commitIntervalMs: number;
  maxInflight: number;
  publishTimeoutMs: number;
  metricsListen: HostPort;
  logLevel: LogLevel;
}

export const PUBLISHER_ENV_VARS = [
  "REGION",
  "NATS_URL",
  "NATS_TLS_CA",
  "PUBLISHER_SOCKET",
  "PUBLISHER_SPOOL_DIR",
  "PUBLISHER_SPOOL_MAX_BYTES",
  "PUBLISHER_SEGMENT_BYTES",
  "PUBLISHER_FSYNC",
  "PUBLISHER_COMMIT_INTERVAL_MS",
  "PUBLISHER_DEADLETTER",
  "PUBLISHER_DEADLETTER_MAX_BYTES",
  "PUBLISHER_MAX_INFLIGHT",
  "PUBLISHER_PUBLISH_TIMEOUT_MS",
  "PUBLISHER_METRICS_LISTEN",
  "LOG_LEVEL",
] as const;

const MiB = 1 << 20;

export function loadPublisherConfig(env: EnvSource): PublisherConfig {
  const region = envString(env, "REGION", "eu");
  if (!isRegionToken(region)) {
    throw new ConfigError(`REGION must match [a-z0-9][a-z0-9_-]{0,62}, got '${region}'`);
  }
  const spoolMaxBytes = envInt(env, "PUBLISHER_SPOOL_MAX_BYTES", 1024 * MiB, { min: MiB });
  // At most half the spool: a fully acknowledged segment must never be all the room there is.
  const halfSpool = Math.floor(spoolMaxBytes / 2);
  const segmentBytes = envInt(env, "PUBLISHER_SEGMENT_BYTES", Math.min(64 * MiB, halfSpool), {
    min: 64 * 1024,
    max: halfSpool,
  });
  const logLevel = envLogLevel(env);
  return {
    region,
    natsUrl: envString(env, "NATS_URL", "nats://127.0.0.1:4222"),
    natsTlsCa: envString(env, "NATS_TLS_CA", ""),
    socketPath: envString(env, "PUBLISHER_SOCKET", "/tmp/tbg-events/engine.sock"),
    spoolDir: envString(env, "PUBLISHER_SPOOL_DIR", ".data/events/spool"),
    deadLetterPath: envString(env, "PUBLISHER_DEADLETTER", ".data/events/deadletter.jsonl"),
    deadLetterMaxBytes: envInt(env, "PUBLISHER_DEADLETTER_MAX_BYTES", 64 * MiB, { min: 0 }),
    spoolMaxBytes,
    segmentBytes,
    fsync: envEnum(env, "PUBLISHER_FSYNC", ["batch", "off"] as const, "batch") === "batch",
    commitIntervalMs: envInt(env, "PUBLISHER_COMMIT_INTERVAL_MS", 200, { min: 1, max: 60_000 }),
    maxInflight: envInt(env, "PUBLISHER_MAX_INFLIGHT", 1024, { min: 1, max: 65_536 }),
    publishTimeoutMs: envInt(env, "PUBLISHER_PUBLISH_TIMEOUT_MS", 5_000, {
      min: 100,
      max: 120_000,
    }),
    metricsListen: envHostPort(env, "PUBLISHER_METRICS_LISTEN", "127.0.0.1:9101"),
    logLevel,
  };
}
