/**
 * stack/topology_bridges.ts: the native stack's latency bridges as
 * ServiceSpecs. Checks the routes against the port plan, then runs the
 * us-east bridge's command for real and sends bytes through it.
 */

import assert from "node:assert/strict";
import { requires } from "../harness/permissions.ts";
import { freePort, waitFor } from "../../lib/ports.ts";
import { spawnManaged } from "../../lib/process.ts";
import type { StackConfig } from "../../stack/topology_types.ts";
import {
  BRIDGE_PORT_OFFSETS,
  bridgePort,
  bridgeRoutes,
  bridgeServices,
} from "../../stack/topology_bridges.ts";
import { planPorts, portKey, portOf } from "../../stack/topology_ports.ts";
import { REGIONS } from "../../stack/topology_regions.ts";
import { connect, echo, readExactly, serve, writeAll } from "./_helpers.ts";

/** A free-port plan plus the bridge keys (whether or not topology_ports.ts plans them yet). */
function plan(): Map<string, number> {
  const ports = new Map(
    planPorts(REGIONS, (name) => (name === "TBG_STACK_PORT_BASE" ? "0" : undefined)),
  );
  const taken = new Set(ports.values());
  for (const region of REGIONS) {
    for (const name of Object.keys(BRIDGE_PORT_OFFSETS)) {
      const key = portKey(region, name);
      if (ports.has(key)) continue;
      let port: number;
      do port = freePort(); while (taken.has(port));
      taken.add(port);
      ports.set(key, port);
    }
  }
  return ports;
}

function stackConfig(ports: Map<string, number>): StackConfig {
  return {
    repoRoot: new URL("../../", import.meta.url).pathname,
    stackDir: "/nonexistent",
    regions: REGIONS,
    ports,
    rpcUser: "tbg",
    rpcPassword: "x",
    bitcoin: null,
    postgresOsUser: null,
    database: "tbg",
  };
}

requires({
  name:
    "topology bridges: one bridge per relay region, routes to eu's relay port, NATS, P2P, and the relay's Stratum from eu",
  permissions: ["net"],
  fn() {
    const ports = plan();
    const specs = bridgeServices(stackConfig(ports));
    assert.deepEqual(specs.map((s) => s.name), ["bridge-us-east", "bridge-asia"]);
    const [eu, us, asia] = REGIONS;
    assert.deepEqual(bridgeRoutes(ports, eu, us).map((r) => [r.via, r.target]), [
      ["relay", portOf(ports, "eu.relay")],
      ["nats", portOf(ports, "nats")],
      ["bitcoin_p2p", portOf(ports, "eu.bitcoin_p2p")],
      // The eu vantage point reaches the relay's own Stratum port through the bridge.
      ["stratum", portOf(ports, "us-east.stratum")],
    ]);
    assert.equal(bridgePort(ports, asia, "relay"), portOf(ports, "asia.bridge_relay"));
    for (const [spec, region] of [[specs[0], us], [specs[1], asia]] as const) {
      assert.equal(spec.region, region.name);
      assert.deepEqual(spec.ports, bridgeRoutes(ports, eu, region).map((r) => r.listen));
      const args = spec.command().args;
      assert.equal(args[args.indexOf("--delay") + 1], String(region.latencyMs));
      assert.equal(args[args.indexOf("--jitter") + 1], String(region.jitterMs));
      assert.ok(args.includes("--allow-net=127.0.0.1"), "narrow net permission");
    }
    // Only eu running: nothing to bridge.
    assert.deepEqual(bridgeServices({ ...stackConfig(ports), regions: [eu] }), []);
  },
});

requires({
  name: "topology bridges: the us-east bridge command forwards to eu's relay port with its delay",
  permissions: ["net", "run", "read", "write"],
  async fn() {
    const ports = plan();
    // Stand-in for the primary's relay listener on eu.relay.
    const relayEcho = serve(echo);
    ports.set("eu.relay", relayEcho.port);
    const spec = bridgeServices(stackConfig(ports))[0];
    const dir = await Deno.makeTempDir({ prefix: "bridge-spec-" });
    const command = spec.command();
    const proc = spawnManaged({
      name: spec.name,
      cmd: command.cmd,
      args: command.args,
      logPath: `${dir}/bridge.log`,
    });
    try {
      await waitFor(spec.ready, { what: `${spec.name} to listen`, timeoutMs: 20_000 });
      const conn = await connect(bridgePort(ports, REGIONS[1], "relay"));
      conn.setNoDelay(true);
      const times: number[] = [];
      for (let i = 0; i < 5; i++) {
        const start = performance.now();
        await writeAll(conn, new Uint8Array([i]));
        assert.equal((await readExactly(conn, 1))[0], i);
        times.push(performance.now() - start);
      }
      conn.close();
      times.sort((a, b) => a - b);
      // us-east: 25 +/- 5 ms each way; a lower bound on the median round trip only.
      assert.ok(times[2] >= 2 * 25 - 3 * 5, `median round trip ${times[2].toFixed(1)} ms`);
      assert.match(proc.log(), /"msg":"bridge listening"/);
    } finally {
      await proc.stop();
      await relayEcho.close();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
