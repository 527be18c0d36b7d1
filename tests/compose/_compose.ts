/**
 * compose.yaml (and its override files) as data for static checks:
 * `.env.example` read as the environment, `${VAR}`, `${VAR:-default}`,
 * `${VAR:?message}` and `$$` interpolated the way Compose does, then parsed
 * (YAML merge keys on) and, for `-f compose.yaml -f OVERRIDE`, merged by
 * Compose's rules for the keys the overrides use (mergeCompose).
 */

import { parse } from "yaml";

export const REPO = new URL("../../", import.meta.url).pathname;

export interface Service {
  image?: string;
  build?: { context: string; dockerfile?: string };
  command?: string[];
  environment?: Record<string, string | number>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }>;
  networks?: string[] | Record<string, { ipv4_address?: string; aliases?: string[] } | null>;
  healthcheck?: { test: string[] };
  restart?: string;
  profiles?: string[];
  cap_add?: string[];
  sysctls?: Record<string, string | number>;
}

export interface ComposeFile {
  services: Record<string, Service>;
  networks: Record<string, { ipam: { config: Array<{ subnet: string; ip_range?: string }> } }>;
  volumes: Record<string, unknown>;
}

export function readEnvFile(path: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of Deno.readTextFileSync(path).split("\n")) {
    const match = /^\s*([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line);
    if (match) env[match[1]] = match[2].trim();
  }
  return env;
}

/** Compose-style variable interpolation; throws on `${VAR:?msg}` with VAR unset. */
export function interpolate(text: string, env: Record<string, string>): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}/g,
    (whole, name?: string, op?: string, arg?: string) => {
      if (whole === "$$") return "$";
      const value = env[name!];
      const unset = op?.startsWith(":") ? !value : value === undefined;
      if (op?.endsWith("?") && unset) throw new Error(`compose: ${name} is required: ${arg}`);
      if (op?.endsWith("-") && unset) return arg!;
      return value ?? "";
    },
  );
}

/** The deployments: compose.yaml alone, and with each override file. */
export const VARIANTS = {
  "public signet": ["compose.yaml"],
  "private signet": ["compose.yaml", "compose.private-signet.yaml"],
} as const;
export type Variant = keyof typeof VARIANTS;

function parseFile(file: string, env: Record<string, string>): Record<string, unknown> {
  const text = interpolate(Deno.readTextFileSync(`${REPO}${file}`), env);
  const data = parse(text, { merge: true }) as Record<string, unknown>;
  // Extension fields (x-...) only serve anchors inside their own file.
  for (const key of Object.keys(data)) if (key.startsWith("x-")) delete data[key];
  return data;
}

export function loadCompose(
  env: Record<string, string>,
  files: readonly string[] = VARIANTS["public signet"],
): ComposeFile {
  let merged = parseFile(files[0], env);
  for (const file of files.slice(1)) merged = mergeCompose(merged, parseFile(file, env));
  return merged as unknown as ComposeFile;
}

/** Service keys an override may set; mergeCompose knows how each one merges. */
export const MERGEABLE_SERVICE_KEYS = new Set([
  "build",
  "image",
  "restart",
  "command",
  "environment",
  "volumes",
  "ports",
  "depends_on",
  "networks",
  "healthcheck",
]);

type Mapping = Record<string, unknown>;
const isMapping = (v: unknown): v is Mapping =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** A volume entry's key for merging: its path inside the container. */
function volumeTarget(entry: unknown): string {
  const parts = String(entry).split(":");
  return parts.length === 1 ? parts[0] : parts[1];
}

function mergeService(name: string, base: Mapping, over: Mapping): Mapping {
  const out: Mapping = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (!MERGEABLE_SERVICE_KEYS.has(key)) {
      throw new Error(
        `compose merge: service ${name} overrides "${key}", which the test cannot merge`,
      );
    }
    const old = out[key];
    if (key === "command" || old === undefined || !(isMapping(value) || Array.isArray(value))) {
      out[key] = value; // a command, and scalars, replace
    } else if (key === "volumes") {
      // By target path: an override's mount replaces the base's mount at the same path.
      const byTarget = new Map((old as unknown[]).map((v) => [volumeTarget(v), v]));
      for (const v of value as unknown[]) byTarget.set(volumeTarget(v), v);
      out[key] = [...byTarget.values()];
    } else if (key === "ports") {
      out[key] = [...new Set([...(old as unknown[]), ...(value as unknown[])])];
    } else if (key === "networks" && Array.isArray(old) && Array.isArray(value)) {
      out[key] = [...new Set([...old, ...value])];
    } else if (key === "networks") {
      const asMap = (n: unknown) =>
        Array.isArray(n) ? Object.fromEntries(n.map((k) => [k, null])) : n as Mapping;
      out[key] = { ...asMap(old), ...asMap(value) };
    } else {
      // environment, depends_on, healthcheck, build: key by key.
      out[key] = { ...(old as Mapping), ...(value as Mapping) };
    }
  }
  return out;
}

/** `docker compose -f base -f over`: services merged key by key, top-level maps joined. */
export function mergeCompose(base: Mapping, over: Mapping): Mapping {
  const out: Mapping = { ...base };
  for (const [key, value] of Object.entries(over)) {
    if (key === "services") {
      const services: Mapping = { ...(base.services as Mapping) };
      for (const [name, spec] of Object.entries(value as Mapping)) {
        services[name] = services[name]
          ? mergeService(name, services[name] as Mapping, spec as Mapping)
          : spec;
      }
      out.services = services;
    } else if (key === "volumes" || key === "networks") {
      out[key] = { ...(base[key] as Mapping), ...(value as Mapping) };
    } else {
      throw new Error(`compose merge: top-level "${key}" in an override is not supported`);
    }
  }
  return out;
}

/** The names of the networks `service` is attached to. */
export function networksOf(service: Service): string[] {
  const n = service.networks ?? [];
  return Array.isArray(n) ? n : Object.keys(n);
}

export function addressOn(service: Service, network: string): string | undefined {
  const n = service.networks;
  return n && !Array.isArray(n) ? n[network]?.ipv4_address : undefined;
}

export function aliasesOn(service: Service, network: string): string[] {
  const n = service.networks;
  return n && !Array.isArray(n) ? n[network]?.aliases ?? [] : [];
}

function ipToInt(ip: string): number {
  const parts = ip.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) {
    throw new Error(`not an IPv4 address: ${ip}`);
  }
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function inSubnet(ip: string, cidr: string): boolean {
  const [net, bits] = cidr.split("/");
  const mask = Number(bits) === 0 ? 0 : (0xffffffff << (32 - Number(bits))) >>> 0;
  return ((ipToInt(ip) & mask) >>> 0) === ((ipToInt(net) & mask) >>> 0);
}
