/** Collector configuration from the environment and `--source` flags (see README.md). */

import {
  ConfigError,
  envHostPort,
  envInt,
  envLogLevel,
  type EnvSource,
  envString,
  type HostPort,
} from "../lib/config.ts";
import type { LogLevel } from "../lib/log.ts";

export type SourceSpec = { kind: "nats" } | { kind: "socket"; path: string };

export interface CollectorConfig {
  sources: SourceSpec[];
  natsUrl: string;
  /** NATS_TLS_CA: CA file for TLS to NATS; "" = no private CA. */
  natsTlsCa: string;
  databaseUrl: string;
  redisUrl: string;
  batchMax: number;
  batchWaitMs: number;
  concurrency: number;
  streamMaxLen: number;
  dedupTtlSeconds: number;
  /** PostgreSQL statement_timeout; a write not answered this long after is failed client-side too. */
  pgStatementTimeoutMs: number;
  /** ioredis commandTimeout: a command unanswered this long fails (and is retried). */
  redisCommandTimeoutMs: number;
  metricsListen: HostPort;
  logLevel: LogLevel;
}

export const COLLECTOR_ENV_VARS = [
  "COLLECTOR_SOURCE",
  "NATS_URL",
  "NATS_TLS_CA",
  "DATABASE_URL",
  "REDIS_URL",
  "COLLECTOR_BATCH_MAX",
  "COLLECTOR_BATCH_WAIT_MS",
  "COLLECTOR_CONCURRENCY",
  "REDIS_STREAM_MAXLEN",
  "REDIS_DEDUP_TTL_SECONDS",
  "COLLECTOR_PG_STATEMENT_TIMEOUT_MS",
  "COLLECTOR_REDIS_COMMAND_TIMEOUT_MS",
  "COLLECTOR_METRICS_LISTEN",
  "LOG_LEVEL",
] as const;

/** Parses `nats`, `socket:<path>` or a comma-separated list of both. */
export function parseSources(text: string, what: string): SourceSpec[] {
  const specs: SourceSpec[] = [];
  for (const part of text.split(",").map((s) => s.trim()).filter((s) => s !== "")) {
    if (part === "nats") specs.push({ kind: "nats" });
    else if (part.startsWith("socket:") && part.length > "socket:".length) {
      specs.push({ kind: "socket", path: part.slice("socket:".length) });
    } else {
      throw new ConfigError(`${what}: unknown source '${part}' (use nats or socket:<path>)`);
    }
  }
  if (specs.length === 0) throw new ConfigError(`${what}: no source given`);
  if (specs.filter((s) => s.kind === "nats").length > 1) {
    throw new ConfigError(`${what}: nats given twice`);
  }
  return specs;
}

/** `--source X` / `--source=X`, repeatable; returns undefined when absent. */
export function sourcesFromArgs(args: string[]): SourceSpec[] | undefined {
  const values: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--source") {
      if (i + 1 >= args.length) throw new ConfigError("--source needs a value");
      values.push(args[++i]);
    } else if (arg.startsWith("--source=")) values.push(arg.slice("--source=".length));
    else throw new ConfigError(`unknown argument '${arg}' (only --source is accepted)`);
  }
  return values.length === 0 ? undefined : parseSources(values.join(","), "--source");
}

export function loadCollectorConfig(env: EnvSource, args: string[] = []): CollectorConfig {
  const logLevel = envLogLevel(env);
  return {
    sources: sourcesFromArgs(args) ??
      parseSources(envString(env, "COLLECTOR_SOURCE", "nats"), "COLLECTOR_SOURCE"),
    natsUrl: envString(env, "NATS_URL", "nats://127.0.0.1:4222"),
    natsTlsCa: envString(env, "NATS_TLS_CA", ""),
    databaseUrl: envString(env, "DATABASE_URL", "postgres://tbg@127.0.0.1:5432/tbg"),
    redisUrl: envString(env, "REDIS_URL", "redis://127.0.0.1:6379"),
    batchMax: envInt(env, "COLLECTOR_BATCH_MAX", 5_000, { min: 1, max: 20_000 }),
    concurrency: envInt(env, "COLLECTOR_CONCURRENCY", 3, { min: 1, max: 16 }),
    batchWaitMs: envInt(env, "COLLECTOR_BATCH_WAIT_MS", 20, { min: 0, max: 10_000 }),
    streamMaxLen: envInt(env, "REDIS_STREAM_MAXLEN", 1_000_000, { min: 1 }),
    // At least the stream's 24 h max age: any redelivery JetStream can still make must find its id.
    dedupTtlSeconds: envInt(env, "REDIS_DEDUP_TTL_SECONDS", 25 * 3600, { min: 86_400 }),
    pgStatementTimeoutMs: envInt(env, "COLLECTOR_PG_STATEMENT_TIMEOUT_MS", 30_000, {
      min: 100,
      max: 3_600_000,
    }),
    redisCommandTimeoutMs: envInt(env, "COLLECTOR_REDIS_COMMAND_TIMEOUT_MS", 10_000, {
      min: 100,
      max: 600_000,
    }),
    metricsListen: envHostPort(env, "COLLECTOR_METRICS_LISTEN", "127.0.0.1:9102"),
    logLevel,
  };
}
