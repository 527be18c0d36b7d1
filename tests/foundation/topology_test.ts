/** The stack's topology as data: port scheme, region list, start order, engine and pipeline configs. */

import assert from "node:assert/strict";
import { planPorts, portEnvName } from "../../stack/topology_ports.ts";
import { parseRegions, REGIONS } from "../../stack/topology_regions.ts";
import { startLevels } from "../../stack/supervisor/order.ts";
import type { ServiceSpec } from "../../stack/supervisor/types.ts";
import { requires } from "../harness/permissions.ts";
import { MINER_API_ALLOW_ENV } from "../../functions/miner-api/config.ts";
import { minerApiService } from "../../stack/topology_miner_api.ts";
import type { StackConfig } from "../../stack/topology_types.ts";
import { bridgePort, bridgeRoutes } from "../../stack/topology_bridges.ts";
import { demoMinerRegions } from "../../stack/topology_miner.ts";
import { engineConfig } from "../../stack/topology_engine.ts";
import { healthRegions, publisherService, publisherSocket } from "../../stack/topology_pipeline.ts";
import { PUBLISHER_ENV_VARS } from "../../functions/publisher/config.ts";
import { resolveMiningSettings } from "../../stack/topology_settings.ts";

function env(vars: Record<string, string>): (name: string) => string | undefined {
  return (name) => vars[name];
}

function spec(name: string, dependsOn: string[] = []): ServiceSpec {
  return {
    name,
    region: "global",
    dependsOn,
    endpoint: "-",
    command: () => ({ cmd: "true", args: [] }),
    ready: () => Promise.resolve(true),
  };
}

Deno.test("ports: the default scheme puts shared services at 20xxx and regions at 21xxx-23xxx", () => {
  const plan = planPorts(REGIONS, env({}));
  assert.equal(plan.get("nats"), 20422);
  assert.equal(plan.get("redis"), 20379);
  assert.equal(plan.get("postgres"), 20432);
  assert.equal(plan.get("miner_api"), 20091);
  assert.equal(plan.get("eu.bitcoin_rpc"), 21443);
  assert.equal(plan.get("us-east.stratum"), 22333);
  assert.equal(plan.get("asia.relay"), 23881);
  assert.equal(new Set(plan.values()).size, plan.size, "every port is distinct");
});

Deno.test("ports: TBG_STACK_PORT_BASE moves the scheme and TBG_PORT_<KEY> overrides one port", () => {
  assert.equal(portEnvName("us-east.bitcoin_rpc"), "TBG_PORT_US_EAST_BITCOIN_RPC");
  const plan = planPorts(
    REGIONS,
    env({ TBG_STACK_PORT_BASE: "30000", TBG_PORT_US_EAST_BITCOIN_RPC: "18443" }),
  );
  assert.equal(plan.get("nats"), 30422);
  assert.equal(plan.get("eu.bitcoin_rpc"), 31443);
  assert.equal(plan.get("us-east.bitcoin_rpc"), 18443);
});

Deno.test("ports: bad settings are rejected naming the variable", () => {
  assert.throws(
    () => planPorts(REGIONS, env({ TBG_STACK_PORT_BASE: "abc" })),
    /TBG_STACK_PORT_BASE must be an integer/,
  );
  assert.throws(
    () => planPorts(REGIONS, env({ TBG_STACK_PORT_BASE: "80" })),
    /TBG_STACK_PORT_BASE must be 0 \(free ports\) or at least 1024/,
  );
  assert.throws(
    () => planPorts(REGIONS, env({ TBG_PORT_REDIS: "70000" })),
    /TBG_PORT_REDIS must be an integer 1-65535/,
  );
  assert.throws(
    () => planPorts(REGIONS, env({ TBG_PORT_REDIS: "20422" })),
    /both want port 20422/,
  );
});

requires({
  name: "ports: base 0 picks distinct free ports",
  permissions: ["net"],
  fn() {
    const plan = planPorts(REGIONS, env({ TBG_STACK_PORT_BASE: "0" }));
    assert.equal(new Set(plan.values()).size, plan.size);
    for (const port of plan.values()) assert.ok(port > 0 && port < 65536);
  },
});

Deno.test("regions: parsed in topology order, eu required, unknown names rejected", () => {
  assert.deepEqual(parseRegions("asia, eu").map((r) => r.name), ["eu", "asia"]);
  assert.throws(() => parseRegions("us-east"), /must include the primary region "eu"/);
  assert.throws(() => parseRegions("eu,mars"), /unknown region "mars"/);
});

Deno.test("order: dependencies start in earlier levels; bad graphs are named", () => {
  const levels = startLevels([spec("engine", ["node", "nats"]), spec("node"), spec("nats")]);
  assert.deepEqual(levels.map((l) => l.map((s) => s.name)), [["node", "nats"], ["engine"]]);
  assert.throws(
    () => startLevels([spec("a", ["ghost"])]),
    /"a" depends on unknown service "ghost"/,
  );
  assert.throws(
    () => startLevels([spec("a", ["b"]), spec("b", ["a"])]),
    /cycle among services a, b/,
  );
  assert.throws(() => startLevels([spec("a"), spec("a")]), /"a" is used twice/);
});

function stackConfig(vars: Record<string, string> = {}): StackConfig {
  return {
    repoRoot: "/repo",
    stackDir: "/data/stack",
    regions: REGIONS,
    ports: planPorts(REGIONS, env(vars)),
    rpcUser: "tbg",
    rpcPassword: "pw",
    bitcoin: null,
    postgresOsUser: null,
    database: "tbg",
    mining: resolveMiningSettings(env(vars)),
  };
}

Deno.test("engine configs: eu is the primary, relays reach it only through their bridge", () => {
  const config = stackConfig();
  const [eu, us, asia] = REGIONS;
  const primary = engineConfig(config, eu);
  assert.equal(primary.mode, "primary");
  assert.equal(primary.pool_instance, "ckpool-eu");
  assert.equal(primary.relay_listen, "127.0.0.1:21881");
  assert.deepEqual(primary.serverurl, ["127.0.0.1:21333"]);
  assert.equal(primary.metrics_listen, "127.0.0.1:21100");
  assert.deepEqual(primary.events, {
    enabled: true,
    socket_path: "/data/stack/run/events-eu.sock",
  });
  assert.equal((primary.btcd as Array<{ url: string }>)[0].url, "127.0.0.1:21443");
  for (const region of [us, asia]) {
    const relay = engineConfig(config, region) as {
      mode: string;
      primary: { host: string; port: number; template_push_port: number; auth_token: string };
    };
    assert.equal(relay.mode, "passthrough");
    const bridge = bridgePort(config.ports, region, "relay");
    assert.equal(bridge, 1000 * (region.index + 1) + 20581);
    assert.deepEqual(
      [relay.primary.host, relay.primary.port, relay.primary.template_push_port],
      ["127.0.0.1", bridge, bridge],
    );
    assert.equal(relay.primary.auth_token, (primary.primary as { auth_token: string }).auth_token);
  }
  const fallback = engineConfig(stackConfig({ TBG_RELAY_MODE: "primary" }), us);
  assert.equal(fallback.mode, "primary");
  assert.equal(fallback.relay, undefined, "a relay building its own templates dials no primary");
  assert.throws(() => resolveMiningSettings(env({ TBG_RELAY_TLS: "yes" })), /TBG_RELAY_TLS/);
  assert.throws(() => resolveMiningSettings(env({ TBG_RELAY_MODE: "x" })), /TBG_RELAY_MODE/);
});

Deno.test("engine configs: the relay link is TLS by default, the primary's cert checked by CA", () => {
  const config = stackConfig();
  const [eu, us, asia] = REGIONS;
  assert.deepEqual(engineConfig(config, eu).relay, {
    tls: { cert: "/data/stack/tls/relay-primary.pem", key: "/data/stack/tls/relay-primary.key" },
  });
  for (const region of [us, asia]) {
    assert.deepEqual(engineConfig(config, region).relay, {
      tls: { ca: "/data/stack/tls/relay-ca.pem" },
    });
  }
  const plain = stackConfig({ TBG_RELAY_TLS: "0" });
  assert.equal(engineConfig(plain, eu).relay, undefined);
  assert.equal(engineConfig(plain, us).relay, undefined);
});

Deno.test("pipeline: relay publishers use NATS through the bridge; health polls every region", () => {
  const config = stackConfig();
  const [eu, us] = REGIONS;
  assert.equal(publisherService(config, eu).command().env?.NATS_URL, "nats://127.0.0.1:20422");
  assert.equal(publisherService(config, us).command().env?.NATS_URL, "nats://127.0.0.1:22522");
  assert.deepEqual(healthRegions(config).map((r) => [r.name, r.stratum]), [
    ["eu", "127.0.0.1:21333"],
    ["us-east", "127.0.0.1:22333"],
    ["asia", "127.0.0.1:23333"],
  ]);
  const deep = { ...config, stackDir: `/${"d".repeat(120)}` };
  assert.ok(publisherSocket(deep, us).length < 108, "socket paths stay under the Unix limit");
});

requires({
  name: "pipeline: the publisher gets the variables of its deno.json task",
  permissions: ["read"],
  fn() {
    const deno = JSON.parse(
      Deno.readTextFileSync(new URL("../../deno.json", import.meta.url)),
    ) as { tasks: Record<string, string> };
    const allowed = /--allow-env=(\S+)/.exec(deno.tasks.publisher)?.[1].split(",");
    assert.deepEqual(PUBLISHER_ENV_VARS, allowed);
  },
});

requires({
  name: "miner api: the stack and its deno.json task grant the same variables",
  permissions: ["read"],
  fn() {
    const deno = JSON.parse(
      Deno.readTextFileSync(new URL("../../deno.json", import.meta.url)),
    ) as { tasks: Record<string, string> };
    const allowed = /--allow-env=(\S+)/.exec(deno.tasks["miner-api"])?.[1].split(",");
    assert.deepEqual(MINER_API_ALLOW_ENV, allowed);
    const spec = minerApiService(stackConfig({}), "postgres://tbg@127.0.0.1:20432/tbg");
    const args = spec.command().args;
    assert.ok(args.includes(`--allow-env=${allowed!.join(",")}`));
    assert.ok(args.includes("--allow-net=127.0.0.1:20091,127.0.0.1:20432"));
    assert.deepEqual(spec.dependsOn, ["collector"]);
  },
});

Deno.test("demo miners: every region by default; TBG_DEMO_MINER picks regions or none", () => {
  const regionsOf = (vars: Record<string, string>) =>
    demoMinerRegions(stackConfig(vars)).map((r) => r.name);
  assert.deepEqual(regionsOf({}), ["eu", "us-east", "asia"]);
  assert.deepEqual(regionsOf({ TBG_DEMO_MINER: "0" }), []);
  assert.deepEqual(regionsOf({ TBG_DEMO_MINER: "eu,asia" }), ["eu", "asia"]);
  assert.deepEqual(regionsOf({ TBG_DEMO_MINER_US_EAST: "0" }), ["eu", "asia"]);
  assert.deepEqual(regionsOf({ TBG_DEMO_MINER: "0", TBG_DEMO_MINER_ASIA: "1" }), ["asia"]);
  assert.throws(
    () => resolveMiningSettings(env({ TBG_DEMO_MINER: "eu,mars" })),
    /TBG_DEMO_MINER must be 0, 1 or a list of eu, us-east, asia \(got "eu,mars"\)/,
  );
  assert.throws(
    () => resolveMiningSettings(env({ TBG_DEMO_MINER_EU: "yes" })),
    /TBG_DEMO_MINER_EU must be 0 or 1 \(got "yes"\)/,
  );
});

Deno.test("bridges: a relay region's bridge also carries eu-vantage Stratum to its engine", () => {
  const config = stackConfig();
  const [eu, us, asia] = REGIONS;
  assert.equal(bridgePort(config.ports, us, "stratum"), 22533);
  assert.deepEqual(
    bridgeRoutes(config.ports, eu, us).find((r) => r.via === "stratum"),
    { listen: 22533, target: 22333, via: "stratum" },
  );
  assert.equal(bridgePort(config.ports, asia, "stratum"), 23533);
});
