/**
 * compose.yaml as data for static checks: `.env.example` read as the
 * environment, `${VAR}`, `${VAR:-default}`, `${VAR:?message}` and `$$`
 * interpolated the way Compose does, then parsed (YAML merge keys on).
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

export function loadCompose(env: Record<string, string>): ComposeFile {
  const text = interpolate(Deno.readTextFileSync(`${REPO}compose.yaml`), env);
  return parse(text, { merge: true }) as ComposeFile;
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
