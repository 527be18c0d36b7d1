/**
 * The real engine end to end: regtest node -> C engine (region us-east) ->
 * publisher -> NATS -> collector -> PostgreSQL + Redis. A Stratum miner
 * connects, submits bad shares and good ones until it finds a block, and
 * disconnects; then every event the engine emitted (seq 1..N of its boot_id)
 * is in PostgreSQL once and in Redis once with its region, the block has a
 * `blocks` row with its region, and the collector counts no missing seq.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { startBitcoinNode } from "../../lib/harness/bitcoin_node.ts";
import { type Engine, startEngine } from "../../lib/harness/engine.ts";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { waitFor } from "../../lib/ports.ts";
import {
  connectMiner,
  mineShare,
  regtestAddress,
  submitShare,
} from "../../lib/harness/stratum_miner.ts";
import { metric } from "../../lib/harness/functions.ts";
import {
  type PipelineStack,
  sourceRow,
  startPipeline,
  storeCounts,
} from "../../lib/harness/pipeline.ts";

const REGION = "us-east";
const POOL_INSTANCE = "ckpool-e2e-us";

/** Sum of `ckpool_events_emitted_total{type=...}` on the engine's /metrics. */
async function emittedByEngine(engine: Engine): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${engine.metricsPort}/metrics`)).text();
  return text.split("\n").filter((l) => l.startsWith("ckpool_events_emitted_total"))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
}

/** Miner session: a bad share, good shares until one is a block, a duplicate, disconnect. */
async function mineUntilBlock(engine: Engine): Promise<{ blockHash: string; good: number }> {
  const address = regtestAddress();
  const { client, job } = await connectMiner(engine, address, { worker: "e2e" });
  const unknownJob = await client.submit(address, "00000000deadbeef", "00", "00000000", "0");
  assert(unknownJob.error !== null, "a share for an unknown job is rejected");
  let good = 0;
  for (let i = 0; i < 200; i++) {
    const share = mineShare(client, job);
    assertEquals(await submitShare(client, address, share), { result: true, error: null });
    good++;
    if (share.isBlock) {
      const again = await submitShare(client, address, share);
      assert(again.error !== null, "a resubmitted share is rejected");
      await client.close();
      return { blockHash: share.hashHex, good };
    }
  }
  throw new Error("no block in 200 shares");
}

async function bootIdOf(stack: PipelineStack): Promise<string> {
  return await waitFor(async () => {
    const rows = await stack.sql<{ boot_id: string }[]>`
      select distinct boot_id::text from events where pool_instance = ${POOL_INSTANCE}`;
    return rows.length === 1 ? rows[0].boot_id : undefined;
  }, { what: "the engine's first event in postgres" });
}

requires({
  name: "pipeline: the real engine's events land once in postgres and redis, block with region",
  permissions: SERVICE_PERMISSIONS,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const stack = await startPipeline({ region: REGION });
    const node = await startBitcoinNode();
    let engine: Engine | undefined;
    try {
      engine = await startEngine(node, {
        events: { enabled: true, socket_path: stack.socketPath },
        region: REGION,
        pool_instance: POOL_INSTANCE,
        // Below the regtest network difficulty, so most good shares are not blocks.
        mindiff: 1e-10,
        startdiff: 1e-10,
      });
      const { blockHash, good } = await mineUntilBlock(engine);
      const bootId = await bootIdOf(stack);
      await waitFor(async () => {
        const [row] = await stack.sql<{ n: number }[]>`
          select count(*)::int as n from events
          where boot_id = ${bootId} and event = 'miner_disconnected'`;
        return row.n === 1;
      }, { what: "miner_disconnected in postgres" });
      const emitted = await emittedByEngine(engine);
      assert(emitted >= good + 4, `engine emitted ${emitted} events`);
      await engine.stop();
      engine = undefined;

      // Everything the publisher received is published, and everything published is stored.
      const n = await waitFor(async () => {
        const received = await metric(stack.publisherPort, "publisher_datagrams_received_total");
        const published = await metric(stack.publisherPort, "publisher_events_published_total");
        const [row] = await stack.sql<{ n: number; hi: number }[]>`
          select count(*)::int as n, coalesce(max(seq), 0)::int as hi from events
          where boot_id = ${bootId}`;
        return received === published && row.n === published && row.hi === row.n
          ? row.n
          : undefined;
      }, { timeoutMs: 60_000, what: "the publisher's events all in postgres" });
      assert(n >= emitted, `seq 1..${n} covers the ${emitted} events the engine counted`);

      const counts = await waitFor(async () => {
        const c = await storeCounts(stack, bootId);
        return c.redisEntries >= n ? c : undefined;
      }, { what: `${n} entries in redis` });
      assertEquals(counts, {
        pgRows: n,
        pgDistinctSeqs: n,
        redisEntries: n,
        redisDistinctSeqs: n,
      });
      const regions = await stack.sql<{ region: string; n: number }[]>`
        select region, count(*)::int as n from events where boot_id = ${bootId} group by region`;
      assertEquals([...regions], [{ region: REGION, n }]);
      const types = await stack.sql<{ event: string }[]>`
        select distinct event from events where boot_id = ${bootId} order by event`;
      for (
        const t of ["block_found", "miner_connected", "miner_disconnected", "share_submitted"]
      ) {
        assert(types.some((r) => r.event === t), `an event ${t} is stored`);
      }
      const rejected = await stack.sql<{ n: number }[]>`
        select count(*)::int as n from events where boot_id = ${bootId}
        and event = 'share_submitted' and data->>'accepted' = 'false'`;
      assert(rejected[0].n >= 2, "the bad shares are stored as rejected share_submitted");

      const blocks = await stack.sql<{ region: string; block_hash: string; height: number }[]>`
        select b.region, b.block_hash, b.height::int as height from blocks b
        join events e using (event_id) where e.boot_id = ${bootId}`;
      assertEquals([...blocks], [{ region: REGION, block_hash: blockHash, height: 1 }]);
      const inRedis = (await stack.redisClient.xrange("events:block_found", "-", "+") as [
        string,
        string[],
      ][]).map(([, fields]) => JSON.parse(fields[fields.indexOf("envelope") + 1]));
      assertEquals(
        inRedis.map((e) => ({ region: e.region, hash: e.data.hash, boot_id: e.boot_id })),
        [{ region: REGION, hash: blockHash, boot_id: bootId }],
      );

      assertEquals(await sourceRow(stack, bootId), { highest_seq: n, missing: 0, received: n });
      await waitFor(async () =>
        (await metric(stack.collectorPort, "collector_seq_missing_all_boots")) === 0
      );
    } finally {
      await engine?.stop();
      await node.stop();
      await stack.close();
    }
  },
});
