/** The stack's topology as data: port scheme, region list, start order. */

import assert from "node:assert/strict";
import { planPorts, portEnvName } from "../../stack/topology_ports.ts";
import { parseRegions, REGIONS } from "../../stack/topology_regions.ts";
import { startLevels } from "../../stack/supervisor/order.ts";
import type { ServiceSpec } from "../../stack/supervisor/types.ts";
import { requires } from "../harness/permissions.ts";

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
