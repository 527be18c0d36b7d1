/**
 * Failover on the whole topology of `deno task up`, with a miner in every
 * region:
 *
 * 1. `stack stop ckpool-eu` (the operator's stop, through the control
 *    socket) takes the primary down and keeps it down.
 * 2. Both relays switch to independent mode within failover_threshold + 1 s
 *    (the threshold read from their config; the switch time is the engine's
 *    own relay_mode_changed timestamp, asserted with generous slack).
 * 3. During the outage each relay keeps its miners, accepts a new one, and
 *    finds blocks (on regtest a share at 1e-9 is a block) that its OWN node
 *    accepts: the node's best block is the relay's block.
 * 4. `stack start ckpool-eu`: the relays return to passthrough.
 * 5. The relays' events from the outage are stored, and every event of every
 *    engine boot (both eu boots and each relay's) is in PostgreSQL and in
 *    Redis exactly once: seq 1..N per boot_id, no gap, no duplicate.
 */

import assert from "node:assert/strict";
import { waitFor } from "../../lib/ports.ts";
import { mineShare, prevhashHex, submitShare } from "../../lib/harness/stratum_miner.ts";
import { commonTip } from "./_tip.ts";
import { StratumClient } from "../../lib/stratum/client.ts";
import { metric } from "../../lib/harness/metrics.ts";
import { nodeRpc } from "./_rpc.ts";
import { type BootCounts, complete, describeBoot, Stores } from "./_stores.ts";
import { startSystem, systemTest } from "./_target.ts";
import {
  REGION_NAMES,
  type RegionEndpoints,
  type RegionName,
  RELAY_NAMES,
} from "../../lib/harness/system.ts";

const WORKER = "bcrt1qw33xwttyv4kk7ttdd9hx2u3dv9jxgu3p3snjgx.failover";
/** Above regtest's network difficulty (~4.7e-10): every share at it is a block. */
const BLOCK_DIFFICULTY = 1e-9;
/**
 * Slack over failover_threshold + 1 s for the switch measured from the stop
 * request: the supervisor's SIGTERM and the engine's exit, on a busy box.
 */
const SWITCH_SLACK_MS = 2_000;

interface StoredEvent {
  event_id: string;
  event: string;
  region: string;
  pool_instance: string;
  ts_ms: number;
  data: Record<string, unknown>;
}

async function minerOn(region: RegionEndpoints, agent: string): Promise<StratumClient> {
  const client = await StratumClient.connect(region.stratum);
  await client.subscribe(`system-failover-${agent}/1.0`);
  const { result } = await client.authorize(WORKER);
  assert.equal(result, true, `authorized on ${region.name}`);
  await client.suggestDifficulty(BLOCK_DIFFICULTY);
  await client.nextNotify();
  return client;
}

/** Events of `region` named `event` with ts at or after `sinceMs`, oldest first. */
async function eventsSince(
  stores: Stores,
  region: RegionName,
  event: string,
  sinceMs: number,
): Promise<StoredEvent[]> {
  return await stores.sql<StoredEvent[]>`
    select event_id::text, event, region, pool_instance,
           (extract(epoch from ts) * 1000)::float8 as ts_ms, data
    from events
    where region = ${region} and event = ${event} and ts >= to_timestamp(${sinceMs / 1000})
    order by ts`;
}

function waitForEvent(
  stores: Stores,
  region: RegionName,
  event: string,
  sinceMs: number,
  match: (e: StoredEvent) => boolean,
): Promise<StoredEvent> {
  return waitFor(async () => (await eventsSince(stores, region, event, sinceMs)).find(match), {
    timeoutMs: 60_000,
    intervalMs: 250,
    what: `${region}'s ${event} in PostgreSQL`,
  });
}

interface FoundBlock {
  region: RegionName;
  hash: string;
  height: number;
  /** From mining start to the relay's own node having it as best block. */
  ms: number;
}

/**
 * Waits until every node has the same tip and `client` works on it, mines a
 * block there (every share is one) and submits it through `region`; returns
 * once the region's own node has it as its best block. Every share of this
 * suite goes through here, one at a time, so no two regions race for one
 * height and leave the nodes on different tips.
 */
async function mineBlock(
  region: RegionEndpoints,
  client: StratumClient,
  nodes: RegionEndpoints[],
): Promise<FoundBlock> {
  const tip = await commonTip(nodes);
  const started = performance.now();
  const job = await client.waitForJob((j) => prevhashHex(j) === tip, 30_000);
  const share = mineShare(client, job, { difficulty: BLOCK_DIFFICULTY });
  assert.ok(share.isBlock, `${region.name}: a share at ${BLOCK_DIFFICULTY} is a regtest block`);
  assert.deepEqual(await submitShare(client, WORKER, share), { result: true, error: null });
  await waitFor(async () => (await nodeRpc<string>(region, "getbestblockhash")) === share.hashHex, {
    timeoutMs: 30_000,
    what: `${region.name}'s node to take its block ${share.hashHex}`,
  });
  const ms = performance.now() - started;
  const block = await nodeRpc<{ height: number; previousblockhash: string; confirmations: number }>(
    region,
    "getblock",
    [share.hashHex, 1],
  );
  assert.equal(block.previousblockhash, tip, `${region.name}'s block builds on the tip`);
  assert.ok(block.confirmations >= 1, `${region.name}'s block is on its node's best chain`);
  return { region: region.name, hash: share.hashHex, height: block.height, ms };
}

systemTest(
  "system failover: primary stopped, relays go independent, mine on their nodes, come back; " +
    "every event in both stores once",
  async () => {
    const stack = await startSystem({ label: "failover" });
    const { regions, failoverThresholdS, postgresUrl, redisUrl } = stack.endpoints;
    const stores = new Stores(postgresUrl, redisUrl);
    const clients: StratumClient[] = [];
    const figures: string[] = [`failover_threshold ${failoverThresholdS} s (relay config)`];
    /** The supervisor has not restarted the primary the operator stopped. */
    const assertPrimaryStopped = async () => {
      const table = await stack.describe();
      assert.match(table, /^ckpool-eu\s+eu\s+stopped \(operator\)\s+-/m, table);
    };
    try {
      const relays = RELAY_NAMES.map((name) => regions[name]);
      const nodes = REGION_NAMES.map((name) => regions[name]);
      for (const relay of relays) {
        await waitFor(async () => (await metric(relay.metricsUrl, "ckpool_relay_link_up")) === 1, {
          timeoutMs: 60_000,
          what: `${relay.name} linked to the primary`,
        });
      }
      const before: Record<string, StratumClient> = {};
      for (const name of REGION_NAMES) {
        before[name] = await minerOn(regions[name], "before");
        clients.push(before[name]);
      }
      for (const name of REGION_NAMES) await mineBlock(regions[name], before[name], nodes);

      // 1. The operator stops the primary; the supervisor leaves it down.
      const euEmitted = await metric(regions.eu.metricsUrl, "ckpool_events_emitted_total");
      const stopRequestedAt = Date.now();
      await stack.stopService("ckpool-eu");
      await assertPrimaryStopped();

      // 2. Both relays switch, each within the threshold (+1 s, + slack).
      for (const relay of relays) {
        await waitFor(
          async () => (await metric(relay.metricsUrl, "ckpool_relay_independent_mode")) === 1,
          {
            timeoutMs: (failoverThresholdS + 30) * 1000,
            intervalMs: 100,
            what: `${relay.name} in independent mode`,
          },
        );
        const switched = await waitForEvent(
          stores,
          relay.name,
          "relay_mode_changed",
          stopRequestedAt,
          (e) => e.data.to === "independent",
        );
        assert.equal(switched.data.from, "relayed");
        const afterStopMs = switched.ts_ms - stopRequestedAt;
        const linkDownMs = switched.data.link_down_ms as number;
        figures.push(
          `${relay.name}: independent ${afterStopMs.toFixed(0)} ms after the stop request ` +
            `(engine: link down ${linkDownMs} ms)`,
        );
        assert.ok(
          afterStopMs <= (failoverThresholdS + 1) * 1000 + SWITCH_SLACK_MS,
          `${relay.name} switched ${afterStopMs} ms after the stop`,
        );
        assert.ok(linkDownMs >= failoverThresholdS * 1000, `${relay.name} waited the threshold`);
      }
      await assertPrimaryStopped();

      // 3. Each relay keeps its miner, accepts a new one, and both find blocks its own node takes.
      const blocks: FoundBlock[] = [];
      for (const relay of relays) {
        const during = await minerOn(relay, "during");
        clients.push(during);
        for (const client of [before[relay.name], during]) {
          const block = await mineBlock(relay, client, nodes);
          const found = await waitForEvent(
            stores,
            relay.name,
            "block_found",
            stopRequestedAt,
            (e) => e.data.hash === block.hash,
          );
          assert.equal(found.data.accepted, true, `${relay.name}'s block accepted`);
          assert.equal(found.data.first_success_path, "local", "accepted by the relay's own node");
          const paths = found.data.submissions as Array<{ path: string; result: string }>;
          assert.equal(paths.find((p) => p.path === "primary")?.result, "error", "primary down");
          blocks.push(block);
          figures.push(
            `${relay.name}: block ${block.height} ${block.hash.slice(0, 16)}... on its own node ` +
              `${block.ms.toFixed(0)} ms after its tip was common`,
          );
        }
      }
      await assertPrimaryStopped();

      // 4. The primary comes back; the relays return to passthrough.
      const startRequestedAt = Date.now();
      await stack.startService("ckpool-eu");
      for (const relay of relays) {
        await waitFor(
          async () => (await metric(relay.metricsUrl, "ckpool_relay_independent_mode")) === 0,
          { timeoutMs: 60_000, intervalMs: 100, what: `${relay.name} back in passthrough` },
        );
        assert.equal(await metric(relay.metricsUrl, "ckpool_relay_link_up"), 1);
        const back = await waitForEvent(
          stores,
          relay.name,
          "relay_mode_changed",
          startRequestedAt,
          (e) => e.data.to === "relayed",
        );
        assert.equal(back.data.from, "independent");
        figures.push(
          `${relay.name}: relayed again ${(back.ts_ms - startRequestedAt).toFixed(0)} ms ` +
            "after the start request",
        );
        // Shares still count once the relay mines the primary's templates again.
        await mineBlock(relay, before[relay.name], nodes);
      }
      assert.match(await stack.describe(), /^ckpool-eu\s+eu\s+running\s+\d+/m);

      // 5a. What the relays did during the outage is kept: each block's share and
      // block_found once in PostgreSQL, and every relay event of the outage once in Redis.
      for (const block of blocks) {
        for (const type of ["share_submitted", "block_found"]) {
          const rows = (await eventsSince(stores, block.region, type, stopRequestedAt))
            .filter((e) => e.data.hash === block.hash);
          assert.equal(rows.length, 1, `${block.region}: one ${type} for ${block.hash}`);
        }
      }
      for (const relay of relays) {
        const outage = await stores.sql<{ event_id: string; event: string }[]>`
          select event_id::text, event from events
          where region = ${relay.name} and ts >= to_timestamp(${stopRequestedAt / 1000})
            and ts < to_timestamp(${startRequestedAt / 1000})`;
        const inRedis = await waitFor(async () => {
          const ids = await stores.redisEventIds();
          return outage.every((e) => ids.has(e.event_id)) && ids;
        }, { timeoutMs: 30_000, intervalMs: 250, what: `${relay.name}'s outage events in Redis` });
        for (const e of outage) {
          assert.equal(inRedis.get(e.event_id), 1, `${e.event} once in Redis`);
        }
        const types = [...new Set(outage.map((e) => e.event))].sort();
        for (const type of ["block_found", "miner_connected", "relay_mode_changed"]) {
          assert.ok(types.includes(type), `${relay.name}: ${type} among its outage events`);
        }
        figures.push(
          `${relay.name}: ${outage.length} events during the outage (${types.join(", ")}), ` +
            "each once in pg and in redis",
        );
      }

      // 5b. Every boot of every engine, seq 1..N, in both stores exactly once, and
      // N is at least what the engine counted as emitted (no loss at the tail
      // either): for eu's first boot, what it had emitted when it was stopped.
      const emitted = new Map<string, number>();
      for (const name of REGION_NAMES) {
        const r = regions[name];
        assert.equal(await metric(r.metricsUrl, "ckpool_events_dropped_total") ?? 0, 0, name);
        emitted.set(r.poolInstance, await metric(r.metricsUrl, "ckpool_events_emitted_total") ?? 0);
      }
      const covered = (b: BootCounts) =>
        b.poolInstance === "ckpool-eu" && b.firstTsMs < stopRequestedAt
          ? b.maxSeq >= (euEmitted ?? 0)
          : b.maxSeq >= (emitted.get(b.poolInstance) ?? 0);
      const boots = await waitFor(async () => {
        const boots = await stores.everyBoot();
        const count = (pool: string) => boots.filter((b) => b.poolInstance === pool).length;
        const expected = count("ckpool-eu") === 2 && count("ckpool-us-east") === 1 &&
          count("ckpool-asia") === 1;
        return expected && boots.every((b) => complete(b) && covered(b)) && boots;
      }, {
        timeoutMs: 90_000,
        intervalMs: 500,
        what: "every boot's events in both stores once (2 eu boots, 1 per relay)",
      }).catch(async (error) => {
        const seen = (await stores.everyBoot()).map(describeBoot).join("\n");
        throw new Error(`${(error as Error).message}\n${seen}\nemitted: ${[...emitted]}`);
      });
      for (const boot of boots) {
        const at = boot.firstTsMs < stopRequestedAt ? "before the stop" : "after";
        figures.push(`${describeBoot(boot)}; first event ${at}`);
      }
      const total = boots.reduce((n, b) => n + b.pgRows, 0);
      figures.push(
        `${total} events in ${boots.length} boots, each once in pg and in redis ` +
          `(eu had emitted ${euEmitted} when stopped)`,
      );
      assert.equal(blocks.length, 2 * relays.length);
      console.log(figures.join("\n"));
    } finally {
      for (const client of clients) await client.close().catch(() => {});
      await stores.close();
      await stack.close();
    }
  },
);
