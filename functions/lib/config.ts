/**
 * Configuration from environment variables. Every reader names the variable
 * in its error: `config: PUBLISHER_SPOOL_MAX_BYTES must be an integer >= 1048576`.
 */

import { LOG_LEVELS, type LogLevel } from "./log.ts";

/** Reads environment variables; tests pass a plain record instead of Deno.env. */
export type EnvSource = (name: string) => string | undefined;

export const denoEnv: EnvSource = (name) => Deno.env.get(name);

export function fromRecord(record: Record<string, string>): EnvSource {
  return (name) => record[name];
}

export class ConfigError extends Error {
  constructor(message: string) {
    super(`config: ${message}`);
    this.name = "ConfigError";
  }
}

export function envString(env: EnvSource, name: string, fallback?: string): string {
  const value = env(name);
  if (value === undefined || value === "") {
    if (fallback === undefined) throw new ConfigError(`${name} is required`);
    return fallback;
  }
  return value;
}

export function envInt(
  env: EnvSource,
  name: string,
  fallback: number,
  { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = {},
): number {
  const raw = env(name);
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer in ${min}..${max}, got '${raw}'`);
  }
  return value;
}

export function envNumber(
  env: EnvSource,
  name: string,
  fallback: number,
  { min = -Infinity, max = Infinity } = {},
): number {
  const raw = env(name);
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a number in ${min}..${max}, got '${raw}'`);
  }
  return value;
}

export function envEnum<T extends string>(
  env: EnvSource,
  name: string,
  allowed: readonly T[],
  fallback: T,
): T {
  const raw = env(name);
  if (raw === undefined || raw === "") return fallback;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${allowed.join(", ")}, got '${raw}'`);
  }
  return raw as T;
}

/** LOG_LEVEL, `info` when unset. */
export function envLogLevel(env: EnvSource): LogLevel {
  return envEnum(env, "LOG_LEVEL", LOG_LEVELS, "info");
}

export interface HostPort {
  hostname: string;
  port: number;
}

/** Parses `host:port` (IPv6 as `[::1]:port`). */
export function parseHostPort(text: string, what: string): HostPort {
  const match = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[2]) : 0;
  if (!match || port < 1 || port > 65535) {
    throw new ConfigError(`${what} must be host:port with port 1-65535, got '${text}'`);
  }
  return { hostname: match[1].replace(/^\[|\]$/g, ""), port };
}

export function envHostPort(env: EnvSource, name: string, fallback: string): HostPort {
  return parseHostPort(envString(env, name, fallback), name);
}
