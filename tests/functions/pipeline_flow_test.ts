/** engine -> publisher -> NATS -> collector: every event once in PostgreSQL and in Redis. */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { waitFor } from "../../lib/ports.ts";
import { FakeEngine } from "../../lib/harness/fake_engine.ts";
import type { Envelope } from "../../functions/lib/envelope.ts";
import { metric } from "../../lib/harness/functions.ts";
import { sourceRow, startPipeline, storeCounts, waitForAll } from "../../lib/harness/pipeline.ts";

requires({
  name: "pipeline: events land once in postgres and redis, fields and region intact",
  permissions: SERVICE_PERMISSIONS,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const stack = await startPipeline();
    const engine = new FakeEngine({
      region: stack.region,
      clientPath: `${stack.dir}/engine-client.sock`,
    });
    try {
      const sent: Envelope[] = [];
      for (let i = 0; i < 200; i++) {
        const envelope = i === 100
          ? engine.next("block_found", { height: 812345, hash: "00".repeat(32), reward: 625000000 })
          : engine.next(i % 10 === 0 ? "miner_connected" : "share_submitted");
        sent.push(envelope);
        await engine.send(stack.socketPath, envelope);
      }
      const counts = await waitForAll(stack, engine.bootId, 200);
      assertEquals(counts, {
        pgRows: 200,
        pgDistinctSeqs: 200,
        redisEntries: 200,
        redisDistinctSeqs: 200,
      });

      const rows = await stack.sql<
        {
          event_id: string;
          event: string;
          ts_us: string;
          region: string;
          pool_instance: string;
          seq: string;
          data: unknown;
        }[]
      >`select event_id::text, event, (extract(epoch from ts) * 1000000)::bigint::text as ts_us,
               region, pool_instance, seq::text, data
        from events where boot_id = ${engine.bootId} order by events.seq`;
      for (const [i, row] of rows.entries()) {
        const e = sent[i];
        assertEquals(
          { ...row, ts_us: Number(row.ts_us), seq: Number(row.seq) },
          {
            event_id: e.event_id,
            event: e.event,
            ts_us: e.ts,
            region: "us-east",
            pool_instance: e.pool_instance,
            seq: e.seq,
            data: e.data,
          },
        );
      }
      const blocks = await stack.sql<{ region: string; height: string }[]>`
        select region, height::text from blocks where event_id = ${sent[100].event_id}`;
      assertEquals(blocks.map((b) => ({ ...b, height: Number(b.height) })), [{
        region: "us-east",
        height: 812345,
      }]);
      const stream = await stack.redisClient.xrange("events:block_found", "-", "+") as [
        string,
        string[],
      ][];
      assertEquals(stream.length, 1);
      assertEquals(JSON.parse(stream[0][1][3]), sent[100]);

      assertEquals(await sourceRow(stack, engine.bootId), {
        highest_seq: 200,
        missing: 0,
        received: 200,
      });
      await waitFor(async () =>
        (await metric(stack.collectorPort, "collector_seq_missing_all_boots")) === 0
      );
      assertEquals(await metric(stack.publisherPort, "publisher_events_published_total"), 200);
      // The work queue is empty once everything is acknowledged.
      const health = await (await fetch(`http://127.0.0.1:${stack.publisherPort}/health`)).json();
      assertEquals(health.status, "ok");
      assertEquals((await storeCounts(stack, engine.bootId)).pgRows, 200);
    } finally {
      engine.close();
      await stack.close();
    }
  },
});
