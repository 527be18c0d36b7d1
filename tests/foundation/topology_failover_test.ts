/** Relay link timings of the stack come from its config (env), with defaults, in one place. */

import assert from "node:assert/strict";
import type { StackConfig } from "../../stack/topology_types.ts";
import { engineConfig } from "../../stack/topology_engine.ts";
import { planPorts } from "../../stack/topology_ports.ts";
import { REGIONS } from "../../stack/topology_regions.ts";
import {
  DEFAULT_FAILOVER_THRESHOLD_S,
  DEFAULT_RECONNECT_INTERVAL_S,
  resolveMiningSettings,
} from "../../stack/topology_settings.ts";

const env = (vars: Record<string, string>) => (name: string) => vars[name];

function relayTimings(vars: Record<string, string>) {
  const config: StackConfig = {
    repoRoot: "/repo",
    stackDir: "/data/stack",
    regions: REGIONS,
    ports: planPorts(REGIONS, env({})),
    rpcUser: "tbg",
    rpcPassword: "pw",
    bitcoin: null,
    postgresOsUser: null,
    database: "tbg",
    mining: resolveMiningSettings(env(vars)),
  };
  return REGIONS.filter((r) => r.role !== "primary").map((region) => {
    const { primary } = engineConfig(config, region) as {
      primary: { failover_threshold: number; reconnect_interval: number };
    };
    return [primary.failover_threshold, primary.reconnect_interval];
  });
}

Deno.test("relay engines: failover_threshold and reconnect_interval default, and follow env", () => {
  const defaults = [DEFAULT_FAILOVER_THRESHOLD_S, DEFAULT_RECONNECT_INTERVAL_S];
  assert.deepEqual(relayTimings({}), [defaults, defaults]);
  assert.deepEqual(
    relayTimings({ TBG_FAILOVER_THRESHOLD: "2", TBG_RELAY_RECONNECT_INTERVAL: "1" }),
    [[2, 1], [2, 1]],
  );
  for (const bad of ["0", "3601", "1.5", "soon", "-2"]) {
    assert.throws(
      () => resolveMiningSettings(env({ TBG_FAILOVER_THRESHOLD: bad })),
      new RegExp(`TBG_FAILOVER_THRESHOLD must be whole seconds 1-3600 \\(got "${bad}"\\)`),
    );
  }
  assert.throws(
    () => resolveMiningSettings(env({ TBG_RELAY_RECONNECT_INTERVAL: "0" })),
    /TBG_RELAY_RECONNECT_INTERVAL must be whole seconds 1-3600/,
  );
});
