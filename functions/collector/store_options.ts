/**
 * How the collector talks to its stores: client options with bounded
 * timeouts, and which PostgreSQL errors are the rows' fault (never retried).
 */

import type postgres from "postgres";
import type { RedisOptions } from "ioredis";
import type { CollectorConfig } from "./config.ts";

/**
 * A PostgreSQL data exception (SQLSTATE class 22: bad jsonb text, numeric
 * overflow, NUL in text...) is caused by the rows, not the server: retrying
 * the same rows can never succeed.
 */
export function isPermanentPgError(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && code.length === 5 && code.startsWith("22");
}

type TimeoutConfig = Pick<CollectorConfig, "pgStatementTimeoutMs" | "redisCommandTimeoutMs">;

/**
 * PostgreSQL client options: the server ends statements running longer than
 * statement_timeout, TCP keepalive notices a dead peer, and connecting is bounded.
 */
export function pgOptions(config: TimeoutConfig): postgres.Options<Record<string, never>> {
  return {
    max: 4,
    onnotice: () => {},
    connect_timeout: 5,
    idle_timeout: 60,
    keep_alive: 10,
    connection: {
      application_name: "collector",
      statement_timeout: config.pgStatementTimeoutMs,
      lock_timeout: config.pgStatementTimeoutMs,
      idle_in_transaction_session_timeout: config.pgStatementTimeoutMs * 2,
    },
  };
}

/**
 * A half-open connection never delivers the server's statement_timeout error:
 * the write also fails client-side a little later, so the retry path runs.
 */
export function pgWriteTimeoutMs(config: TimeoutConfig): number {
  return config.pgStatementTimeoutMs + 5_000;
}

/** ioredis options: a command unanswered for commandTimeout fails (and is retried). */
export function redisOptions(config: TimeoutConfig): RedisOptions {
  return {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectTimeout: 5_000,
    commandTimeout: config.redisCommandTimeoutMs,
    keepAlive: 10_000,
    retryStrategy: (times: number) => Math.min(100 * times, 1_000),
  };
}

/** Rejects when `promise` has not settled within `ms` (the work itself is not cancelled). */
export function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
