/**
 * Multi-region on the whole topology of `deno task up`: a Stratum client in
 * each region submits shares; every share_submitted arrives in PostgreSQL and
 * in Redis exactly once (demo miners are off: every share is the test's), with its region, pool_instance and source "hosted";
 * every seq of each engine's boot is in both stores once; blocks found in
 * us-east and asia (on regtest every share is a block) reach all three nodes.
 */

import assert from "node:assert/strict";
import { waitFor } from "../../lib/ports.ts";
import { mineShare, submitShare } from "../../lib/harness/stratum_miner.ts";
import { StratumClient } from "../../lib/stratum/client.ts";
import { complete, Stores } from "./_stores.ts";
import { metric } from "../../lib/harness/metrics.ts";
import { startSystem, systemTest } from "./_target.ts";
import { jobOnCommonTip } from "./_tip.ts";
import { REGION_NAMES, RELAY_NAMES } from "../../lib/harness/system.ts";

const WORKER = "bcrt1qw33xwttyv4kk7ttdd9hx2u3dv9jxgu3p3snjgx.multi";
const SHARES = 5;

async function rpc<T>(
  r: { url: string; user: string; password: string },
  method: string,
  params: unknown[] = [],
) {
  const response = await fetch(r.url, {
    method: "POST",
    headers: { authorization: `Basic ${btoa(`${r.user}:${r.password}`)}` },
    body: JSON.stringify({ jsonrpc: "1.0", id: "multi", method, params }),
  });
  return (await response.json() as { result: T }).result;
}

systemTest(
  "system multi-region: shares from every region in both stores once; relay blocks everywhere",
  async () => {
    const stack = await startSystem({ label: "multi" });
    const { regions, postgresUrl, redisUrl } = stack.endpoints;
    const stores = new Stores(postgresUrl, redisUrl);
    const clients: StratumClient[] = [];
    try {
      for (const name of REGION_NAMES) {
        const client = await StratumClient.connect(regions[name].stratum);
        clients.push(client);
        await client.subscribe("system-multi/1.0");
        assert.equal((await client.authorize(WORKER)).result, true);
        await client.suggestDifficulty(1e-9);
        // The first share (a block) on the tip every node has, so at least it is on the best
        // chain everywhere; the rest may be side-chain siblings of it.
        const { job } = await jobOnCommonTip(client, REGION_NAMES.map((n) => regions[n]));
        await submitShare(client, WORKER, mineShare(client, job));
        for (let i = 1; i < SHARES; i++) {
          await submitShare(client, WORKER, mineShare(client, client.currentJob!));
        }
      }
      for (const name of REGION_NAMES) {
        const r = regions[name];
        const rows = await waitFor(async () => {
          const found = await stores.sql<
            { event_id: string; region: string; source: string; pool_instance: string }[]
          >`select event_id::text, region, source, pool_instance from events
            where event = 'share_submitted' and pool_instance = ${r.poolInstance}`;
          return found.length >= SHARES && found;
        }, { timeoutMs: 60_000, intervalMs: 500, what: `${name}'s shares in PostgreSQL` });
        assert.equal(rows.length, SHARES, `${name}: one row per share`);
        for (const row of rows) {
          assert.deepEqual([row.region, row.source, row.pool_instance], [
            name,
            "hosted",
            r.poolInstance,
          ]);
        }
        const stream = await stores.redis.xrange("events:share_submitted", "-", "+") as Array<
          [string, string[]]
        >;
        const ids = stream.map(([, f]) => f[f.indexOf("event_id") + 1]);
        for (const row of rows) {
          assert.equal(ids.filter((id) => id === row.event_id).length, 1, `${row.event_id} once`);
        }
        const boot = await waitFor(async () => {
          const boots = await stores.boots(r.poolInstance);
          return boots.length === 1 && complete(boots[0]) && boots[0];
        }, { timeoutMs: 60_000, intervalMs: 500, what: `${name}'s boot complete in both stores` });
        console.log(`${name}: seq ${boot.minSeq}..${boot.maxSeq} in pg and redis once`);
      }
      for (const name of RELAY_NAMES) {
        assert.ok((await metric(regions[name].metricsUrl, "ckpool_blocks_found_total"))! > 0);
      }
      // Blocks the relays found, as stored (block_found).
      const blocks = await waitFor(async () => {
        const rows = await stores.sql<{ region: string; hash: string }[]>`
          select region, data->>'hash' as hash from events
          where event = 'block_found' and region in ('us-east', 'asia')`;
        return RELAY_NAMES.every((name) => rows.some((b) => b.region === name)) && rows;
      }, { timeoutMs: 30_000, intervalMs: 500, what: "block_found from us-east and asia stored" });
      // A block mined on a tip another region had just replaced is a side-chain
      // block its node keeps but does not announce; so per relay, at least one
      // of its blocks must be on every node (the ones on the best chain are).
      const onEveryNode = async (hash: string) =>
        (await Promise.all(
          REGION_NAMES.map((n) => rpc(regions[n].rpc, "getblockheader", [hash])),
        )).every((header) => header !== null && header !== undefined);
      for (const name of RELAY_NAMES) {
        const mine = blocks.filter((b) => b.region === name);
        await waitFor(async () => {
          for (const block of mine) if (await onEveryNode(block.hash)) return true;
          return false;
        }, { timeoutMs: 60_000, what: `one of ${name}'s ${mine.length} blocks on every node` });
      }
    } finally {
      for (const client of clients) await client.close().catch(() => {});
      await stores.close();
      await stack.close();
    }
  },
);
