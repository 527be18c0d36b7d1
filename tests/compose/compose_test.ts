/**
 * Static checks of compose.yaml, alone (public signet) and with
 * compose.private-signet.yaml (no Docker engine here): references resolve,
 * networks and addresses match ARCHITECTURE.md section 5 and the brief's
 * table, mounted files exist, the engine configs agree with the topology,
 * host ports are unique, and every relay's cross-region traffic can only go
 * through the latency bridge. compose_names_test.ts checks the names,
 * compose_chain_test.ts the chain of each variant and the Compose CLIs.
 */

import assert from "node:assert/strict";
import { requires } from "../harness/permissions.ts";
import { REGIONS } from "../../stack/topology_regions.ts";
import {
  addressOn,
  aliasesOn,
  type ComposeFile,
  inSubnet,
  interpolate,
  loadCompose,
  networksOf,
  readEnvFile,
  REPO,
  type Service,
  type Variant,
  VARIANTS,
} from "./_compose.ts";

const PERMS = ["read", "env"] as const;

interface RegionLayout {
  name: string;
  network: string;
  subnet: string;
  engine: string;
  publisher: string;
  node: string;
  config: string;
}

const NETWORKS: Record<string, [string, string]> = {
  eu: ["eu_net", "172.20.1.0/24"],
  "us-east": ["us_net", "172.20.2.0/24"],
  asia: ["asia_net", "172.20.3.0/24"],
};

const LAYOUT: RegionLayout[] = REGIONS.map((r) => ({
  name: r.name,
  network: NETWORKS[r.name][0],
  subnet: NETWORKS[r.name][1],
  engine: r.compose.engine,
  publisher: r.compose.publisher,
  node: r.compose.node,
  config: `config/${r.compose.engine}.json`,
}));

const GATEWAY = "eu-gateway";

function load(variant: Variant = "public signet"): {
  compose: ComposeFile;
  env: Record<string, string>;
} {
  const env = readEnvFile(`${REPO}.env.example`);
  return { compose: loadCompose(env, VARIANTS[variant]), env };
}

/** The repository file mounted at `target` in `service`. */
function mountedFile(s: Service, target: string): string {
  const mount = (s.volumes ?? []).find((v) => v.split(":")[1] === target);
  assert.ok(mount, `nothing is mounted at ${target}`);
  return mount!.split(":")[0].replace(/^\.\//, "");
}

function service(compose: ComposeFile, name: string): Service {
  const s = compose.services[name];
  assert.ok(s, `compose.yaml has no service "${name}"`);
  return s;
}

function exists(path: string): boolean {
  try {
    Deno.statSync(`${REPO}${path}`);
    return true;
  } catch {
    return false;
  }
}

// deno-lint-ignore no-explicit-any
function engineConfig(region: RegionLayout): any {
  return JSON.parse(Deno.readTextFileSync(`${REPO}${region.config}`));
}

/** One test per deployment variant (compose.yaml alone and with each override). */
function eachVariant(name: string, fn: (variant: Variant) => void): void {
  for (const variant of Object.keys(VARIANTS) as Variant[]) {
    requires({ name: `${name} [${variant}]`, permissions: PERMS, fn: () => fn(variant) });
  }
}

/** `PORT=IP:PORT` forwards of the latency bridge, by port. */
function bridgeForwards(compose: ComposeFile): Map<number, string> {
  const text = String(service(compose, "latency-bridge").environment?.BRIDGE_FORWARDS ?? "");
  const forwards = new Map<number, string>();
  for (const item of text.split(/\s+/).filter((s) => s !== "")) {
    const [port, dest] = item.split("=");
    forwards.set(Number(port), dest);
  }
  return forwards;
}

eachVariant(
  "compose: every depends_on names a service with a valid condition, and there is no cycle",
  (variant) => {
    const { compose } = load(variant);
    const names = Object.keys(compose.services);
    for (const [name, s] of Object.entries(compose.services)) {
      for (const [dep, spec] of Object.entries(s.depends_on ?? {})) {
        assert.ok(names.includes(dep), `${name} depends on unknown service ${dep}`);
        assert.ok(
          ["service_started", "service_healthy", "service_completed_successfully"].includes(
            spec.condition,
          ),
          `${name} -> ${dep}: condition ${spec.condition}`,
        );
        if (spec.condition === "service_healthy") {
          assert.ok(
            compose.services[dep].healthcheck,
            `${name} waits for ${dep} to be healthy, but it has no healthcheck`,
          );
        }
      }
    }
    const visiting = new Set<string>();
    const done = new Set<string>();
    const visit = (name: string, path: string[]) => {
      if (done.has(name)) return;
      assert.ok(!visiting.has(name), `dependency cycle: ${[...path, name].join(" -> ")}`);
      visiting.add(name);
      for (const dep of Object.keys(compose.services[name].depends_on ?? {})) {
        visit(dep, [...path, name]);
      }
      visiting.delete(name);
      done.add(name);
    };
    for (const name of names) visit(name, []);
  },
);

eachVariant(
  "compose: the three region networks have the ARCHITECTURE subnets; fixed addresses fit",
  (variant) => {
    const { compose } = load(variant);
    for (const region of LAYOUT) {
      const net = compose.networks[region.network];
      assert.ok(net, `network ${region.network} is missing`);
      assert.equal(net.ipam.config[0].subnet, region.subnet, region.network);
    }
    const used = new Map<string, string>();
    for (const [name, s] of Object.entries(compose.services)) {
      for (const network of networksOf(s)) {
        assert.ok(compose.networks[network], `${name} uses undefined network ${network}`);
        const ip = addressOn(s, network);
        if (!ip) continue;
        const { subnet, ip_range } = compose.networks[network].ipam.config[0];
        assert.ok(inSubnet(ip, subnet), `${name}: ${ip} is outside ${network} ${subnet}`);
        if (ip_range) {
          assert.ok(!inSubnet(ip, ip_range), `${name}: ${ip} is inside the dynamic range`);
        }
        const key = `${network}/${ip}`;
        assert.ok(!used.has(key), `${name} and ${used.get(key)} both take ${key}`);
        used.set(key, name);
      }
    }
  },
);

eachVariant(
  "compose: mounted files, build contexts and Dockerfile COPY sources exist in the repo",
  (variant) => {
    const { compose } = load(variant);
    const declared = Object.keys(compose.volumes ?? {});
    for (const [name, s] of Object.entries(compose.services)) {
      for (const volume of s.volumes ?? []) {
        const source = volume.split(":")[0];
        if (source.startsWith(".") || source.startsWith("/")) {
          assert.ok(exists(source.replace(/^\.\//, "")), `${name} mounts missing ${source}`);
        } else {
          assert.ok(declared.includes(source), `${name} uses undeclared volume ${source}`);
        }
      }
      if (!s.build) continue;
      assert.ok(s.image, `${name} builds an image but does not name it`);
      const dockerfile = s.build.dockerfile ?? "Dockerfile";
      assert.ok(exists(dockerfile), `${name}: ${dockerfile} is missing`);
      const text = Deno.readTextFileSync(`${REPO}${dockerfile}`);
      for (const line of text.split("\n")) {
        const copy = /^COPY\s+(?!--from)(?:--\S+\s+)*(.+)$/.exec(line.trim());
        if (!copy) continue;
        const sources = copy[1].split(/\s+/).slice(0, -1);
        for (const src of sources) assert.ok(exists(src), `${dockerfile}: COPY ${src} is missing`);
      }
    }
  },
);

eachVariant(
  "compose: images are pinned (a tag, never latest) and every service has a restart policy",
  (variant) => {
    const { compose } = load(variant);
    for (const [name, s] of Object.entries(compose.services)) {
      assert.match(s.image ?? "", /^[^:]+:[^:]+$/, `${name}: image ${s.image} has no tag`);
      assert.ok(!/:latest($|-)/.test(s.image!), `${name}: ${s.image} is not pinned`);
      assert.ok(s.restart, `${name} has no restart policy`);
    }
    for (const dockerfile of ["ckpool/Dockerfile", "functions/Dockerfile", "netem/Dockerfile"]) {
      for (
        const match of Deno.readTextFileSync(`${REPO}${dockerfile}`).matchAll(/^FROM\s+(\S+)/gm)
      ) {
        assert.match(match[1], /:[^:]*\d[^:]*$/, `${dockerfile}: FROM ${match[1]} is not pinned`);
        assert.ok(!match[1].includes("latest"), `${dockerfile}: FROM ${match[1]} is not pinned`);
      }
    }
  },
);

eachVariant(
  "compose: engine configs parse and agree with the topology (region, mode, primary, node)",
  (variant) => {
    const { compose } = load(variant);
    for (const region of LAYOUT) {
      const config = engineConfig(region);
      const role = REGIONS.find((r) => r.name === region.name)!.role;
      assert.equal(config.region, region.name, region.config);
      assert.equal(config.mode, role === "primary" ? "primary" : "passthrough", region.config);
      assert.ok(config.primary?.auth_token, `${region.config}: primary.auth_token`);
      if (role === "primary") {
        assert.equal(config.relay_listen, "0.0.0.0:8881");
      } else {
        assert.equal(config.primary.host, GATEWAY, `${region.config}: primary.host`);
        assert.equal(config.primary.template_push_port, 8881);
      }
      assert.deepEqual(config.serverurl, ["0.0.0.0:3333"]);
      assert.equal(config.metrics_listen, "0.0.0.0:9100");
      // Its own region's node, on its own network.
      const nodeHost = String(config.btcd[0].url).split(":")[0];
      assert.equal(nodeHost, region.node, `${region.config}: btcd`);
      assert.ok(networksOf(service(compose, region.node)).includes(region.network));
      // The mounted file is this config, and the event socket is shared with the publisher.
      const engine = service(compose, region.engine);
      assert.ok(engine.volumes!.includes(`./${region.config}:/etc/ckpool/ckpool.json:ro`));
      const socket = String(config.events.socket_path);
      const publisher = service(compose, region.publisher);
      assert.equal(publisher.environment?.PUBLISHER_SOCKET, socket);
      assert.equal(publisher.environment?.REGION, region.name);
      const dir = socket.slice(0, socket.lastIndexOf("/"));
      const shared = engine.volumes!.find((v) => v.endsWith(`:${dir}`));
      assert.ok(shared, `${region.engine} mounts nothing at ${dir}`);
      assert.ok(publisher.volumes!.includes(shared!), `${region.publisher} lacks ${shared}`);
    }
  },
);

requires({
  name: "compose: config placeholders and required variables are all defined in .env.example",
  permissions: PERMS,
  fn() {
    const env = readEnvFile(`${REPO}.env.example`);
    for (const region of LAYOUT) {
      const text = Deno.readTextFileSync(`${REPO}${region.config}`);
      const compose = loadCompose(env);
      const engineEnv = service(compose, region.engine).environment ?? {};
      for (const [, name] of text.matchAll(/\$\{([A-Z_][A-Z0-9_]*)\}/g)) {
        assert.ok(env[name], `${region.config} needs ${name}, missing from .env.example`);
        assert.ok(name in engineEnv, `${region.engine} does not pass ${name} to the engine`);
      }
    }
    // Without .env every required secret is reported by name.
    assert.throws(() => interpolate(Deno.readTextFileSync(`${REPO}compose.yaml`), {}), /required/);
  },
});

eachVariant("compose: ports published on the host are unique", (variant) => {
  const { compose } = load(variant);
  const owner = new Map<string, string>();
  for (const [name, s] of Object.entries(compose.services)) {
    for (const mapping of s.ports ?? []) {
      const parts = String(mapping).split(":");
      assert.ok(parts.length >= 2, `${name}: publish ${mapping} with an explicit host port`);
      const host = parts.slice(0, -1).join(":");
      assert.ok(
        !owner.has(host),
        `${name} and ${owner.get(host)} both publish host port ${host}`,
      );
      owner.set(host, name);
    }
  }
  assert.equal(owner.get("8090"), "health-monitor");
  assert.equal(owner.get("3333"), "ckpool-primary");
});

eachVariant(
  "compose: relay traffic to eu (relay link, NATS, P2P) can only go through the latency bridge",
  (variant) => {
    const { compose } = load(variant);
    const bridge = service(compose, "latency-bridge");
    const forwards = bridgeForwards(compose);
    assert.ok(bridge.cap_add?.includes("NET_ADMIN"), "the bridge needs NET_ADMIN for tc");
    assert.equal(String(bridge.sysctls?.["net.ipv4.ip_forward"]), "1");
    const eu = LAYOUT[0];
    for (const region of LAYOUT) {
      assert.ok(networksOf(bridge).includes(region.network), `bridge not on ${region.network}`);
    }
    // Only the bridge answers to eu-gateway, and only on the relay networks.
    for (const [name, s] of Object.entries(compose.services)) {
      for (const network of networksOf(s)) {
        const has = aliasesOn(s, network).includes(GATEWAY);
        const wanted = name === "latency-bridge" && network !== eu.network;
        assert.equal(has, wanted, `${name} on ${network}: alias ${GATEWAY}`);
      }
    }
    // What each eu service the relays use is forwarded to.
    const euTarget = (serviceName: string, port: number) => {
      const ip = addressOn(service(compose, serviceName), eu.network);
      assert.ok(ip, `${serviceName} needs a fixed address on ${eu.network} for the bridge`);
      return `${ip}:${port}`;
    };
    assert.equal(forwards.get(8881), euTarget(eu.engine, 8881), "relay link forward");
    assert.equal(forwards.get(4222), euTarget("nats-hub", 4222), "NATS forward");
    assert.equal(forwards.get(38333), euTarget(eu.node, 38333), "P2P forward");
    for (const region of LAYOUT.slice(1)) {
      for (const name of [region.engine, region.publisher, region.node]) {
        assert.deepEqual(networksOf(service(compose, name)), [region.network], `${name} networks`);
      }
      const config = engineConfig(region);
      assert.ok(forwards.has(config.primary.template_push_port), "relay port is not forwarded");
      const natsUrl = new URL(String(service(compose, region.publisher).environment?.NATS_URL));
      assert.equal(natsUrl.hostname, GATEWAY, `${region.publisher} NATS_URL`);
      assert.ok(forwards.has(Number(natsUrl.port)), `${region.publisher}: NATS port not forwarded`);
      const conf = Deno.readTextFileSync(
        `${REPO}${mountedFile(service(compose, region.node), "/etc/bitcoin/bitcoin.conf")}`,
      );
      assert.match(conf, new RegExp(`^addnode=${GATEWAY}:38333$`, "m"), `${region.node} addnode`);
      assert.ok(
        !new RegExp(`${eu.node}|${eu.subnet.split(".").slice(0, 3).join("\\.")}\\.`).test(
          conf.replace(/^#.*$/gm, "").replace(/^rpcallowip=.*$/gm, ""),
        ),
        `${region.node} must not address eu directly`,
      );
      for (const dep of [region.engine, region.publisher, region.node]) {
        assert.ok(
          service(compose, dep).depends_on?.["latency-bridge"],
          `${dep} waits for the bridge`,
        );
      }
    }
  },
);

eachVariant(
  "compose: bridge delays default to the topology's latencies (stack/topology_regions.ts)",
  (variant) => {
    const { compose, env } = load(variant);
    const bridgeEnv = service(compose, "latency-bridge").environment!;
    for (const [prefix, regionName] of [["US", "us-east"], ["ASIA", "asia"]] as const) {
      const region = REGIONS.find((r) => r.name === regionName)!;
      assert.equal(Number(bridgeEnv[`${prefix}_DELAY_MS`]), region.latencyMs);
      assert.equal(Number(bridgeEnv[`${prefix}_JITTER_MS`]), region.jitterMs);
      // And without a .env the compose defaults say the same.
      const bare = loadCompose({ ...env, [`${prefix}_DELAY_MS`]: "", [`${prefix}_JITTER_MS`]: "" });
      const bareEnv = service(bare, "latency-bridge").environment!;
      assert.equal(Number(bareEnv[`${prefix}_DELAY_MS`]), region.latencyMs);
    }
  },
);

eachVariant(
  "compose: the health monitor reaches every engine directly and lists all three regions",
  (variant) => {
    const { compose } = load(variant);
    const health = service(compose, "health-monitor");
    const mount = health.volumes!.find((v) => v.includes("health-regions.json"))!;
    const [source, target] = mount.split(":");
    assert.equal(health.environment?.REGIONS_FILE, target);
    const regions = JSON.parse(Deno.readTextFileSync(`${REPO}${source.replace(/^\.\//, "")}`));
    assert.deepEqual(regions.map((r: { name: string }) => r.name), LAYOUT.map((r) => r.name));
    for (const region of LAYOUT) {
      const entry = regions.find((r: { name: string }) => r.name === region.name);
      assert.equal(new URL(entry.health_url).host, `${region.engine}:9100`);
      assert.equal(entry.stratum, `${region.engine}:3333`);
      assert.ok(networksOf(health).includes(region.network), `health not on ${region.network}`);
    }
  },
);
