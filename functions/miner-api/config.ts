/** Miner API configuration from the environment (see README.md). */

import {
  envEnum,
  envHostPort,
  envInt,
  envLogLevel,
  type EnvSource,
  envString,
  type HostPort,
} from "../lib/config.ts";
import type { LogLevel } from "../lib/log.ts";
import { type NetworkName, NETWORKS } from "./address.ts";

export interface MinerApiConfig {
  listen: HostPort;
  databaseUrl: string;
  /** The chain whose addresses the API accepts. */
  network: NetworkName;
  /** How long an answer is served from the in-process cache (and the Cache-Control max-age). */
  cacheTtlSeconds: number;
  /** Answers the cache holds at most; the oldest go first. */
  cacheMaxEntries: number;
  /** PostgreSQL statement_timeout for every query. */
  queryTimeoutMs: number;
  logLevel: LogLevel;
}

export const MINER_API_ENV_VARS = [
  "MINER_API_LISTEN",
  "DATABASE_URL",
  "MINER_API_NETWORK",
  "MINER_API_CACHE_TTL",
  "MINER_API_CACHE_MAX_ENTRIES",
  "MINER_API_QUERY_TIMEOUT_MS",
  "LOG_LEVEL",
] as const;

/**
 * What postgres.js (3.4) reads: PG<OPTION> for each option the code leaves
 * unset, PGPASSWORD and the like for what the URL leaves out. `--allow-env`
 * must grant these too or the client throws at start.
 */
export const POSTGRES_CLIENT_ENV_VARS: readonly string[] = [
  "PGHOST",
  "PGPORT",
  "PGDATABASE",
  "PGUSER",
  "PGUSERNAME",
  "PGPASSWORD",
  "PGAPPNAME",
  "PGTARGETSESSIONATTRS",
  "USER",
  "USERNAME",
  "LOGNAME",
  "PGSSL",
  "PGSSLNEGOTIATION",
  "PGMAX_LIFETIME",
  "PGMAX_PIPELINE",
  "PGBACKOFF",
  "PGKEEP_ALIVE",
  "PGPREPARE",
  "PGDEBUG",
  "PGFETCH_TYPES",
  "PGPUBLICATIONS",
  "PGTARGET_SESSION_ATTRS",
];

/** The `--allow-env` list of the miner API. */
export const MINER_API_ALLOW_ENV = [...MINER_API_ENV_VARS, ...POSTGRES_CLIENT_ENV_VARS];

export function loadMinerApiConfig(env: EnvSource): MinerApiConfig {
  return {
    listen: envHostPort(env, "MINER_API_LISTEN", "0.0.0.0:8091"),
    databaseUrl: envString(env, "DATABASE_URL", "postgres://tbg@127.0.0.1:5432/tbg"),
    network: envEnum(env, "MINER_API_NETWORK", NETWORKS, "main"),
    cacheTtlSeconds: envInt(env, "MINER_API_CACHE_TTL", 10, { min: 0, max: 3600 }),
    cacheMaxEntries: envInt(env, "MINER_API_CACHE_MAX_ENTRIES", 10_000, { min: 1, max: 1_000_000 }),
    queryTimeoutMs: envInt(env, "MINER_API_QUERY_TIMEOUT_MS", 5_000, { min: 100, max: 600_000 }),
    logLevel: envLogLevel(env),
  };
}
