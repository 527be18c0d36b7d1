/**
 * Settings of the userspace latency bridge, from flags or the environment
 * (flags win). Every error names the flag or variable it comes from:
 * `netem: --delay must be a number of milliseconds >= 0 (got "x")`.
 *
 *   --listen HOST:PORT  / NETEM_LISTEN     where clients connect
 *   --target HOST:PORT  / NETEM_TARGET     where the bridge forwards to
 *   --route L=T         / NETEM_ROUTES     more listen=target pairs (repeatable / comma list)
 *   --delay MS          / NETEM_DELAY_MS   one-way delay, each direction (default 0)
 *   --jitter MS         / NETEM_JITTER_MS  standard deviation of the delay (default 0)
 *   --max-buffer BYTES  / NETEM_MAX_BUFFER_BYTES  queued bytes per direction before
 *                                          the bridge stops reading (default 1 MiB)
 *   --connect-timeout MS / NETEM_CONNECT_TIMEOUT_MS  (default 5000)
 *   --name NAME         / NETEM_NAME       for the logs (default "netem")
 *   --region REGION     / NETEM_REGION     for the logs (default "global")
 *   --log-level LEVEL   / LOG_LEVEL        debug, info, warn, error (default info)
 */

export interface Endpoint {
  hostname: string;
  port: number;
}

export interface Route {
  listen: Endpoint;
  target: Endpoint;
}

export type LogLevel = "debug" | "info" | "warn" | "error";

export interface ProxyConfig {
  routes: Route[];
  delayMs: number;
  jitterMs: number;
  maxBufferBytes: number;
  connectTimeoutMs: number;
  name: string;
  region: string;
  logLevel: LogLevel;
}

export const NETEM_ENV_VARS = [
  "NETEM_LISTEN",
  "NETEM_TARGET",
  "NETEM_ROUTES",
  "NETEM_DELAY_MS",
  "NETEM_JITTER_MS",
  "NETEM_MAX_BUFFER_BYTES",
  "NETEM_CONNECT_TIMEOUT_MS",
  "NETEM_NAME",
  "NETEM_REGION",
  "LOG_LEVEL",
] as const;

const FLAGS: Record<string, string> = {
  "--listen": "NETEM_LISTEN",
  "--target": "NETEM_TARGET",
  "--delay": "NETEM_DELAY_MS",
  "--jitter": "NETEM_JITTER_MS",
  "--max-buffer": "NETEM_MAX_BUFFER_BYTES",
  "--connect-timeout": "NETEM_CONNECT_TIMEOUT_MS",
  "--name": "NETEM_NAME",
  "--region": "NETEM_REGION",
  "--log-level": "LOG_LEVEL",
};

const LOG_LEVELS: readonly LogLevel[] = ["debug", "info", "warn", "error"];

export class NetemConfigError extends Error {
  constructor(message: string) {
    super(`netem: ${message}`);
    this.name = "NetemConfigError";
  }
}

/** Parses `host:port` (IPv6 as `[::1]:port`). */
export function parseEndpoint(text: string, what: string): Endpoint {
  const match = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(text.trim());
  const port = match ? Number(match[2]) : 0;
  if (!match || port < 1 || port > 65535) {
    throw new NetemConfigError(`${what} must be HOST:PORT with port 1-65535 (got "${text}")`);
  }
  return { hostname: match[1].replace(/^\[|\]$/g, ""), port };
}

/** Parses `LISTEN=TARGET`. */
export function parseRoute(text: string, what: string): Route {
  const parts = text.split("=");
  if (parts.length !== 2) {
    throw new NetemConfigError(`${what} must be LISTEN_HOST:PORT=TARGET_HOST:PORT (got "${text}")`);
  }
  return { listen: parseEndpoint(parts[0], what), target: parseEndpoint(parts[1], what) };
}

function number(text: string | undefined, what: string, fallback: number, max: number): number {
  if (text === undefined || text.trim() === "") return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < 0 || value > max) {
    throw new NetemConfigError(`${what} must be a number 0-${max} (got "${text}")`);
  }
  return value;
}

interface Collected {
  /** Flag values by the env name they stand for; `what` for error messages. */
  values: Map<string, { value: string; what: string }>;
  routes: Array<{ value: string; what: string }>;
}

function collectFlags(args: readonly string[]): Collected {
  const collected: Collected = { values: new Map(), routes: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") continue;
    const eq = arg.indexOf("=");
    const flag = arg.startsWith("--") && eq > 0 ? arg.slice(0, eq) : arg;
    if (flag !== "--route" && !(flag in FLAGS)) {
      throw new NetemConfigError(`unknown argument "${arg}"`);
    }
    let value: string;
    if (flag !== arg) value = arg.slice(eq + 1);
    else {
      if (i + 1 >= args.length) throw new NetemConfigError(`${flag} needs a value`);
      value = args[++i];
    }
    if (flag === "--route") collected.routes.push({ value, what: "--route" });
    else collected.values.set(FLAGS[flag], { value, what: flag });
  }
  return collected;
}

/** The bridge's settings from `args` (flags) and `env` (a lookup such as Deno.env.get). */
export function loadProxyConfig(
  args: readonly string[],
  env: (name: string) => string | undefined,
): ProxyConfig {
  const flags = collectFlags(args);
  const get = (name: string) => {
    const flag = flags.values.get(name);
    if (flag) return flag;
    const value = env(name);
    return value === undefined || value === "" ? undefined : { value, what: name };
  };
  const routes: Route[] = [];
  const listen = get("NETEM_LISTEN");
  const target = get("NETEM_TARGET");
  if (listen && target) {
    routes.push({
      listen: parseEndpoint(listen.value, listen.what),
      target: parseEndpoint(target.value, target.what),
    });
  } else if (listen || target) {
    const given = (listen ?? target)!;
    throw new NetemConfigError(`${given.what} is given without its partner (--listen/--target)`);
  }
  const routeTexts = flags.routes.length > 0
    ? flags.routes
    : (env("NETEM_ROUTES") ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "")
      .map((value) => ({ value, what: "NETEM_ROUTES" }));
  for (const r of routeTexts) routes.push(parseRoute(r.value, r.what));
  if (routes.length === 0) {
    throw new NetemConfigError("no route: give --listen and --target (or --route, NETEM_ROUTES)");
  }
  const seen = new Set<string>();
  for (const route of routes) {
    const key = `${route.listen.hostname}:${route.listen.port}`;
    if (seen.has(key)) throw new NetemConfigError(`listen address ${key} is used twice`);
    seen.add(key);
  }
  const num = (name: string, fallback: number, max: number) => {
    const v = get(name);
    return number(v?.value, v?.what ?? name, fallback, max);
  };
  const logLevel = get("LOG_LEVEL");
  if (logLevel && !(LOG_LEVELS as readonly string[]).includes(logLevel.value)) {
    throw new NetemConfigError(
      `${logLevel.what} must be one of ${LOG_LEVELS.join(", ")} (got "${logLevel.value}")`,
    );
  }
  const maxBufferBytes = num("NETEM_MAX_BUFFER_BYTES", 1 << 20, 1 << 30);
  if (maxBufferBytes < 1024 || !Number.isInteger(maxBufferBytes)) {
    const what = get("NETEM_MAX_BUFFER_BYTES")?.what ?? "NETEM_MAX_BUFFER_BYTES";
    throw new NetemConfigError(`${what} must be an integer >= 1024 (got "${maxBufferBytes}")`);
  }
  return {
    routes,
    delayMs: num("NETEM_DELAY_MS", 0, 60_000),
    jitterMs: num("NETEM_JITTER_MS", 0, 60_000),
    maxBufferBytes,
    connectTimeoutMs: num("NETEM_CONNECT_TIMEOUT_MS", 5_000, 600_000) || 5_000,
    name: get("NETEM_NAME")?.value ?? "netem",
    region: get("NETEM_REGION")?.value ?? "global",
    logLevel: (logLevel?.value as LogLevel | undefined) ?? "info",
  };
}
