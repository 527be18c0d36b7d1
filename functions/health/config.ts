/**
 * Health monitor configuration. Regions come from REGIONS (a JSON array) or
 * REGIONS_FILE (a JSON file with the same array, or `{"regions": [...]}`):
 * `[{"name": "eu", "health_url": "http://127.0.0.1:9100/health",
 *    "metrics_url": "http://127.0.0.1:9100/metrics", "stratum": "127.0.0.1:3333"}]`.
 */

import {
  ConfigError,
  envHostPort,
  envLogLevel,
  envNumber,
  type EnvSource,
  type HostPort,
  parseHostPort,
} from "../lib/config.ts";
import { isRegionToken } from "../lib/envelope.ts";
import type { LogLevel } from "../lib/log.ts";

export interface RegionTarget {
  name: string;
  healthUrl: string;
  metricsUrl: string;
  stratum: HostPort;
}

export interface HealthConfig {
  regions: RegionTarget[];
  pollIntervalMs: number;
  /** Per-check timeout (defaults to min(5 s, interval)). */
  checkTimeoutMs: number;
  listen: HostPort;
  logLevel: LogLevel;
}

/**
 * The same as the GeoDNS check interval (docs/geodns/health-checks.md, the
 * Terraform in deploy/terraform/): a DNS checker never reads a verdict older
 * than its own interval. tests/deploy/geodns_terraform_test.ts checks they agree.
 */
export const DEFAULT_POLL_INTERVAL_SECONDS = 10;

export const HEALTH_ENV_VARS = [
  "REGIONS",
  "REGIONS_FILE",
  "POLL_INTERVAL",
  "CHECK_TIMEOUT",
  "HEALTH_LISTEN",
  "LOG_LEVEL",
] as const;

function httpUrl(value: unknown, what: string): string {
  if (typeof value !== "string") throw new ConfigError(`${what} must be a string URL`);
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${what} is not a URL: '${value}'`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new ConfigError(`${what} must be http(s), got '${value}'`);
  }
  return value;
}

/** Validates the parsed region list; `what` names its origin in errors. */
export function parseRegions(value: unknown, what: string): RegionTarget[] {
  const list = Array.isArray(value) ? value : (typeof value === "object" && value !== null &&
      Array.isArray((value as { regions?: unknown }).regions))
    ? (value as { regions: unknown[] }).regions
    : undefined;
  if (!list) throw new ConfigError(`${what} must be a JSON array of regions`);
  if (list.length === 0) throw new ConfigError(`${what} lists no region`);
  const names = new Set<string>();
  return list.map((entry, i) => {
    const at = `${what}[${i}]`;
    if (typeof entry !== "object" || entry === null) {
      throw new ConfigError(`${at} must be an object`);
    }
    const r = entry as Record<string, unknown>;
    if (!isRegionToken(r.name)) {
      throw new ConfigError(`${at}.name must match [a-z0-9][a-z0-9_-]{0,62}`);
    }
    if (names.has(r.name)) throw new ConfigError(`${at}.name '${r.name}' is listed twice`);
    names.add(r.name);
    if (typeof r.stratum !== "string") {
      throw new ConfigError(`${at}.stratum must be "host:port"`);
    }
    return {
      name: r.name,
      healthUrl: httpUrl(r.health_url, `${at}.health_url`),
      metricsUrl: httpUrl(r.metrics_url, `${at}.metrics_url`),
      stratum: parseHostPort(r.stratum, `${at}.stratum`),
    };
  });
}

export function loadHealthConfig(
  env: EnvSource,
  readFile: (path: string) => string = Deno.readTextFileSync,
): HealthConfig {
  const inline = env("REGIONS");
  const file = env("REGIONS_FILE");
  let regions: RegionTarget[];
  if (inline) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(inline);
    } catch (error) {
      throw new ConfigError(`REGIONS is not valid JSON: ${(error as Error).message}`);
    }
    regions = parseRegions(parsed, "REGIONS");
  } else if (file) {
    let text: string;
    try {
      text = readFile(file);
    } catch (error) {
      throw new ConfigError(`REGIONS_FILE '${file}' cannot be read: ${(error as Error).message}`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new ConfigError(
        `REGIONS_FILE '${file}' is not valid JSON: ${(error as Error).message}`,
      );
    }
    regions = parseRegions(parsed, `REGIONS_FILE '${file}'`);
  } else {
    throw new ConfigError("REGIONS (JSON) or REGIONS_FILE is required");
  }
  const pollSeconds = envNumber(env, "POLL_INTERVAL", DEFAULT_POLL_INTERVAL_SECONDS, {
    min: 0.05,
    max: 3600,
  });
  const timeoutSeconds = envNumber(env, "CHECK_TIMEOUT", Math.min(5, pollSeconds), {
    min: 0.05,
    max: 60,
  });
  const logLevel = envLogLevel(env);
  return {
    regions,
    pollIntervalMs: Math.round(pollSeconds * 1000),
    checkTimeoutMs: Math.round(timeoutSeconds * 1000),
    listen: envHostPort(env, "HEALTH_LISTEN", "0.0.0.0:8090"),
    logLevel,
  };
}
