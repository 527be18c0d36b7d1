/**
 * Names in the Compose deployment are the product brief's (ckpool-primary,
 * bitcoind-relay-us, nats-hub, ...) everywhere: every host that a config
 * file, a connection URL or a Deno --allow-net in compose names resolves,
 * on a network of the container that uses it, to a service or an alias, and
 * each engine reports its own service name as pool_instance.
 */

import assert from "node:assert/strict";
import { requires } from "../harness/permissions.ts";
import { REGIONS } from "../../stack/topology_regions.ts";
import {
  aliasesOn,
  type ComposeFile,
  loadCompose,
  networksOf,
  readEnvFile,
  REPO,
  type Service,
  type Variant,
  VARIANTS,
} from "./_compose.ts";

const PERMS = ["read", "env"] as const;

/** The service table of the brief (Part 2.2), with the address it gives each. */
const BRIEF: Array<[service: string, network: string, ip: string | null]> = [
  ["ckpool-primary", "eu_net", "172.20.1.10"],
  ["bitcoind-primary", "eu_net", "172.20.1.11"],
  ["nats-hub", "eu_net", "172.20.1.20"],
  ["redis", "eu_net", "172.20.1.30"],
  ["timescaledb", "eu_net", "172.20.1.31"],
  ["event-collector", "eu_net", "172.20.1.40"],
  ["ckpool-relay-us", "us_net", "172.20.2.10"],
  ["bitcoind-relay-us", "us_net", "172.20.2.11"],
  ["ckpool-relay-asia", "asia_net", "172.20.3.10"],
  ["bitcoind-relay-asia", "asia_net", "172.20.3.11"],
  ["latency-bridge", "eu_net", null],
];

function load(variant: Variant): ComposeFile {
  return loadCompose(readEnvFile(`${REPO}.env.example`), VARIANTS[variant]);
}

/** Why `host` does not resolve for a container on `networks`, or null when it does. */
function unresolved(compose: ComposeFile, host: string, networks: string[]): string | null {
  for (const [name, s] of Object.entries(compose.services)) {
    const shared = networksOf(s).filter((n) => networks.includes(n));
    if (shared.length === 0) continue;
    if (name === host || shared.some((n) => aliasesOn(s, n).includes(host))) return null;
  }
  return `"${host}" is neither a service nor an alias on ${networks.join(", ")}`;
}

/** Host names in URLs (scheme://[user:pass@]host:port) and host:port pairs of a text. */
function hostsIn(text: string): string[] {
  const hosts = new Set<string>();
  for (const [, host] of text.matchAll(/[a-z]+:\/\/(?:[^@/\s"]*@)?([a-z][a-z0-9-]*):\d+/g)) {
    hosts.add(host);
  }
  for (const [, host] of text.matchAll(/(?:^|[\s",=])([a-z][a-z0-9-]*):\d+/g)) hosts.add(host);
  return [...hosts];
}

/** Hosts one service names in its command and environment. */
function hostsUsedBy(s: Service): string[] {
  const text = [...(s.command ?? []), ...Object.values(s.environment ?? {})].join(" ");
  return hostsIn(text).filter((h) => h !== "localhost");
}

/** The repository files bind-mounted into a service. */
function mountedFiles(s: Service): string[] {
  return (s.volumes ?? []).map((v) => v.split(":")[0]).filter((src) => src.startsWith("./"))
    .map((src) => src.slice(2));
}

for (const variant of Object.keys(VARIANTS) as Variant[]) {
  requires({
    name: `compose names: the brief's services exist at the brief's addresses [${variant}]`,
    permissions: PERMS,
    fn() {
      const compose = load(variant);
      for (const [name, network, ip] of BRIEF) {
        const s = compose.services[name];
        assert.ok(s, `no service ${name}`);
        assert.ok(networksOf(s).includes(network), `${name} is not on ${network}`);
        if (ip) {
          const n = s.networks as Record<string, { ipv4_address?: string }>;
          assert.equal(n[network]?.ipv4_address, ip, `${name} on ${network}`);
        }
      }
      for (const region of REGIONS) {
        for (const name of [region.compose.engine, region.compose.node, region.compose.publisher]) {
          assert.ok(compose.services[name], `no service ${name} for ${region.name}`);
        }
      }
    },
  });

  requires({
    name:
      `compose names: every host in config/, URLs and --allow-net resolves where it is used [${variant}]`,
    permissions: PERMS,
    fn() {
      const compose = load(variant);
      const problems: string[] = [];
      const seen = new Set<string>();
      for (const [name, s] of Object.entries(compose.services)) {
        const networks = networksOf(s);
        const hosts = new Map<string, string>();
        for (const host of hostsUsedBy(s)) hosts.set(host, "compose.yaml");
        for (const file of mountedFiles(s)) {
          let text: string;
          try {
            text = Deno.readTextFileSync(`${REPO}${file}`);
          } catch {
            continue; // a mounted directory
          }
          // Bitcoin Core config lines: addnode=HOST:PORT, connect=..., and URLs.
          const lines = text.split("\n").filter((l) => !l.trim().startsWith("#")).join("\n");
          for (const host of hostsIn(lines)) hosts.set(host, file);
          if (file.endsWith(".json")) {
            // deno-lint-ignore no-explicit-any
            const json: any = JSON.parse(text);
            const host = json?.primary?.host;
            if (typeof host === "string") hosts.set(host, `${file} primary.host`);
          }
        }
        for (const [host, where] of hosts) {
          seen.add(host);
          const why = unresolved(compose, host, networks);
          if (why) problems.push(`${name} (${where}): ${why}`);
        }
      }
      assert.deepEqual(problems, []);
      // The scan saw every kind of reference (else it is broken, not the names right).
      const expected = ["nats-hub", "eu-gateway", "timescaledb", "redis"];
      for (const r of REGIONS) expected.push(r.compose.engine, r.compose.node);
      for (const host of expected) assert.ok(seen.has(host), `no reference to ${host} found`);
    },
  });
}

requires({
  name: "compose names: each engine's pool_instance is its service name; no old names remain",
  permissions: PERMS,
  fn() {
    const compose = load("public signet");
    for (const region of REGIONS) {
      const file = `config/${region.compose.engine}.json`;
      const config = JSON.parse(Deno.readTextFileSync(`${REPO}${file}`));
      assert.equal(config.pool_instance, region.compose.engine, `${file} pool_instance`);
      assert.equal(config.region, region.name, `${file} region`);
      const engine = compose.services[region.compose.engine];
      assert.ok(engine.volumes?.includes(`./${file}:/etc/ckpool/ckpool.json:ro`));
    }
    // The region-named services of the past must not linger in the Compose files.
    const old = /\b(ckpool-eu|ckpool-us-east|ckpool-asia|bitcoind-eu|bitcoind-us|bitcoind-asia)\b/;
    for (const file of ["compose.yaml", "compose.private-signet.yaml", ".env.example"]) {
      const text = Deno.readTextFileSync(`${REPO}${file}`);
      assert.doesNotMatch(text, old, file);
    }
    for (const entry of Deno.readDirSync(`${REPO}config`)) {
      const text = Deno.readTextFileSync(`${REPO}config/${entry.name}`);
      assert.doesNotMatch(text, old, `config/${entry.name}`);
    }
  },
});

requires({
  name: "compose names: the host scan finds and rejects a host no service answers to",
  permissions: PERMS,
  fn() {
    const compose = load("public signet");
    // The scanner itself: the relay engine's node is found, and a wrong network or name is not.
    assert.deepEqual(hostsIn('"url": "bitcoind-relay-us:38332"'), ["bitcoind-relay-us"]);
    assert.deepEqual(hostsIn("DATABASE_URL postgres://tbg:pw@timescaledb:5432/tbg"), [
      "timescaledb",
    ]);
    assert.equal(unresolved(compose, "bitcoind-relay-us", ["us_net"]), null);
    assert.equal(unresolved(compose, "eu-gateway", ["asia_net"]), null);
    assert.match(unresolved(compose, "eu-gateway", ["eu_net"]) ?? "", /neither/);
    assert.match(unresolved(compose, "bitcoind-relay-us", ["asia_net"]) ?? "", /neither/);
    assert.match(unresolved(compose, "ckpool-eu", ["eu_net"]) ?? "", /neither/);
  },
});
