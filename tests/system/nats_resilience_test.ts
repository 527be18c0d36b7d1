/**
 * NATS resilience on the whole topology of `deno task up`: miners on both
 * relays submit shares; `stack stop nats` takes the hub down; shares go on
 * for at least 10 s (the publishers spool them); `stack start nats`; then
 * the relay publishers' spools drain to zero and every event each relay
 * engine emitted (seq 1..N of its boot_id) is in PostgreSQL and Redis once.
 */

import assert from "node:assert/strict";
import { waitFor } from "../../lib/ports.ts";
import { mineShare, submitShare } from "../../lib/harness/stratum_miner.ts";
import { StratumClient } from "../../lib/stratum/client.ts";
import { metric } from "../../lib/harness/metrics.ts";
import { startSystem, systemTest } from "./_target.ts";
import { complete, Stores } from "./_stores.ts";
import { type RegionEndpoints, RELAY_NAMES } from "../../lib/harness/system.ts";

const WORKER = "bcrt1qw33xwttyv4kk7ttdd9hx2u3dv9jxgu3p3snjgx.nats";
const OUTAGE_MS = 10_000;

async function minerOn(region: RegionEndpoints): Promise<StratumClient> {
  const client = await StratumClient.connect(region.stratum);
  await client.subscribe("system-nats/1.0");
  assert.equal((await client.authorize(WORKER)).result, true);
  await client.suggestDifficulty(1e-9);
  await client.nextNotify();
  return client;
}

/** Mines one share on the client's latest job and submits it; true when accepted. */
async function oneShare(client: StratumClient): Promise<boolean> {
  const share = mineShare(client, client.currentJob!);
  return (await submitShare(client, WORKER, share)).result === true;
}

systemTest(
  "system nats: shares during a 10 s hub outage all arrive once; spools drain",
  async () => {
    const stack = await startSystem({ label: "nats" });
    const { regions, postgresUrl, redisUrl } = stack.endpoints;
    const stores = new Stores(postgresUrl, redisUrl);
    const clients: StratumClient[] = [];
    try {
      const relays = RELAY_NAMES.map((name) => regions[name]);
      for (const relay of relays) clients.push(await minerOn(relay));
      for (const client of clients) await oneShare(client);

      await stack.stopService("nats");
      const outageEnds = Date.now() + OUTAGE_MS;
      let submitted = 0;
      let accepted = 0;
      while (Date.now() < outageEnds) {
        for (const client of clients) {
          submitted++;
          if (await oneShare(client)) accepted++;
        }
      }
      for (const relay of relays) {
        assert.equal(await metric(relay.publisherMetricsUrl, "publisher_nats_connected"), 0);
      }
      console.log(`during the outage: ${submitted} shares submitted, ${accepted} accepted`);
      assert.ok(accepted > 0, "relays kept accepting shares without NATS");
      await stack.startService("nats");

      for (const relay of relays) {
        const emitted = await metric(relay.metricsUrl, "ckpool_events_emitted_total");
        assert.ok(emitted !== null && emitted > accepted / 2, `${relay.name} emitted ${emitted}`);
        await waitFor(
          async () =>
            (await metric(relay.publisherMetricsUrl, "publisher_spool_backlog_bytes")) === 0,
          { timeoutMs: 90_000, intervalMs: 250, what: `${relay.name}'s spool to drain` },
        );
        const boot = await waitFor(async () => {
          const boots = await stores.boots(relay.poolInstance);
          return boots.length === 1 && complete(boots[0]) && boots[0].maxSeq >= emitted &&
            boots[0];
        }, { timeoutMs: 90_000, intervalMs: 500, what: `${relay.name}'s events in both stores` });
        console.log(
          `${relay.name}: seq ${boot.minSeq}..${boot.maxSeq}, pg ${boot.pgRows}, ` +
            `redis ${boot.redisEntries} (emitted ${emitted} when nats came back)`,
        );
        assert.equal(boot.region, relay.name);
      }
    } finally {
      for (const client of clients) await client.close().catch(() => {});
      await stores.close();
      await stack.close();
    }
  },
);
