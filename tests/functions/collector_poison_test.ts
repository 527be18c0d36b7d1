/**
 * One event PostgreSQL cannot store (a pre-validation publisher, or text the
 * envelope check cannot see) must not stall the collector: the batch is
 * bisected, the bad events are terminated and reported, the rest commits.
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import postgres from "postgres";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { startPostgres } from "../../lib/harness/postgres.ts";
import { allMigrations, migrate } from "../../functions/collector/migrate.ts";
import { writeEvents } from "../../functions/collector/pg_sink.ts";
import { CollectorPipeline, type Item } from "../../functions/collector/pipeline.ts";
import { isPermanentPgError } from "../../functions/collector/collector.ts";
import { waitFor } from "../../lib/ports.ts";
import { FakeEngine } from "../../lib/harness/fake_engine.ts";

requires({
  name: "collector: a batch with unstorable events commits the rest and terminates only those",
  permissions: SERVICE_PERMISSIONS,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const pg = await startPostgres();
    const sql = postgres(pg.url, { max: 2, onnotice: () => {} });
    const dir = await Deno.makeTempDir();
    const engine = new FakeEngine({ region: "eu", clientPath: `${dir}/c.sock` });
    try {
      await migrate(sql, await allMigrations());
      // Raw payload texts that passed the old validation; each fails PostgreSQL (class 22).
      const poison = ['{"s":"a\\u0000b"}', '{"s":"\\ud800"}', '{"n":1e1000000}'];
      const acked: string[] = [];
      const termed: string[] = [];
      const rejected: string[] = [];
      let redisEvents = 0;
      const pipeline = new CollectorPipeline(
        {
          writePg: (events, payloads) => writeEvents(sql, events, payloads),
          writeRedis: (events) => Promise.resolve(redisEvents += events.length),
          isPermanentPgError,
        },
        { batchMax: 64, batchWaitMs: 1_000, backoff: { initialMs: 1, maxMs: 5 } },
        { rejected: (item) => rejected.push(item.envelope.event_id) },
      );
      const items: Item[] = [];
      for (let i = 0; i < 40; i++) {
        const envelope = engine.next();
        let payload = JSON.stringify(envelope);
        const bad = [5, 17, 33].indexOf(i);
        if (bad >= 0) payload = payload.replace(/"data":\{.*?\}/, `"data":${poison[bad]}`);
        items.push({
          envelope,
          payload,
          ack: () => acked.push(envelope.event_id),
          working: () => {},
          term: () => termed.push(envelope.event_id),
        });
      }
      // A redelivered duplicate of a poison event is terminated too.
      items.push({ ...items[17], ack: () => acked.push("dup"), term: () => termed.push("dup") });
      pipeline.start();
      for (const item of items) pipeline.push(item);
      await waitFor(() => acked.length + termed.length === items.length, {
        timeoutMs: 30_000,
        what: "every item acknowledged or terminated",
      });
      await pipeline.stop();

      const poisonIds = [5, 17, 33].map((i) => items[i].envelope.event_id);
      assertEquals(termed.sort(), [...poisonIds, "dup"].sort());
      assertEquals(rejected.length, 4);
      assertEquals(acked.length, 37);
      assertEquals(redisEvents, 37);
      const [{ n }] = await sql<[{ n: number }]>`select count(*)::int as n from events`;
      assertEquals(n, 37);
      const stored = await sql`select 1 from events where event_id = any(${poisonIds}::uuid[])`;
      assertEquals(stored.length, 0);
    } finally {
      engine.close();
      await sql.end({ timeout: 1 });
      await pg.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
