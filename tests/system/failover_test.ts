/**
 * Failover on the whole topology of `deno task up`: with a miner on each
 * relay, `stack stop ckpool-eu` (the operator's stop, through the control
 * socket) takes the primary down and keeps it down; both relays switch to
 * independent mode within failover_threshold + 1 s and keep accepting miners
 * and serving jobs; `stack start ckpool-eu` brings it back and the relays
 * return to passthrough. (Event completeness in both stores per boot_id is
 * still to be added: see docs/testing.md.)
 */

import assert from "node:assert/strict";
import { waitFor } from "../../stack/lib/ports.ts";
import { StratumClient } from "../stratum/client.ts";
import { metric } from "./_metrics.ts";
import { startSystem, systemTest } from "./_target.ts";
import { type RegionEndpoints, RELAY_NAMES } from "./_system.ts";

async function minerOn(region: RegionEndpoints): Promise<StratumClient> {
  const client = await StratumClient.connect(region.stratum);
  await client.subscribe("system-failover/1.0");
  const { result } = await client.authorize("bcrt1qw33xwttyv4kk7ttdd9hx2u3dv9jxgu3p3snjgx.sys");
  assert.equal(result, true, `authorized on ${region.name}`);
  await client.nextNotify();
  return client;
}

systemTest(
  "system failover: stopped primary stays down, relays go independent and come back",
  async () => {
    const stack = await startSystem({ label: "failover" });
    const clients: StratumClient[] = [];
    try {
      const { regions, failoverThresholdS } = stack.endpoints;
      const relays = RELAY_NAMES.map((name) => regions[name]);
      for (const relay of relays) {
        await waitFor(async () => (await metric(relay.metricsUrl, "ckpool_relay_link_up")) === 1, {
          timeoutMs: 60_000,
          what: `${relay.name} linked to the primary`,
        });
        clients.push(await minerOn(relay));
      }

      const stoppedAt = Date.now();
      await stack.stopService("ckpool-eu");
      const switched: Record<string, number> = {};
      await Promise.all(relays.map(async (relay) => {
        await waitFor(
          async () => (await metric(relay.metricsUrl, "ckpool_relay_independent_mode")) === 1,
          {
            timeoutMs: (failoverThresholdS + 30) * 1000,
            intervalMs: 50,
            what: `${relay.name} in independent mode`,
          },
        );
        switched[relay.name] = Date.now() - stoppedAt;
      }));
      console.log(`failover_threshold ${failoverThresholdS} s; independent after (ms):`, switched);
      for (const [name, ms] of Object.entries(switched)) {
        // Polled every 50 ms from outside: a generous bound, the engine's own
        // relay_mode_changed timestamp is the precise figure.
        assert.ok(ms <= (failoverThresholdS + 1) * 1000 + 2_000, `${name} switched after ${ms} ms`);
      }
      // Relays keep accepting miners and serving them jobs while eu is down.
      for (const relay of relays) clients.push(await minerOn(relay));
      const table = await stack.describe();
      assert.match(table, /^ckpool-eu\s+eu\s+stopped \(operator\)\s+-/m, table);

      await stack.startService("ckpool-eu");
      for (const relay of relays) {
        await waitFor(
          async () => (await metric(relay.metricsUrl, "ckpool_relay_independent_mode")) === 0,
          {
            timeoutMs: 60_000,
            what: `${relay.name} back in passthrough`,
          },
        );
        assert.equal(await metric(relay.metricsUrl, "ckpool_relay_link_up"), 1);
      }
      assert.match(await stack.describe(), /^ckpool-eu\s+eu\s+running\s+\d+/m);
    } finally {
      for (const client of clients) await client.close().catch(() => {});
      await stack.close();
    }
  },
);
