/** Collector store writers against a real PostgreSQL and Redis: idempotence, blocks, seq gaps. */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import postgres from "postgres";
import { Redis } from "ioredis";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { startPostgres } from "../../lib/harness/postgres.ts";
import { startRedis } from "../../lib/harness/redis.ts";
import { allMigrations, migrate } from "../../functions/collector/migrate.ts";
import { writeEvents } from "../../functions/collector/pg_sink.ts";
import { RedisSink } from "../../functions/collector/redis_sink.ts";
import { FakeEngine } from "../../lib/harness/fake_engine.ts";

requires({
  name:
    "collector: migrations once, idempotent writes, late events fill seq gaps, redis at most once",
  permissions: SERVICE_PERMISSIONS,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const [pg, redisServer] = await Promise.all([startPostgres(), startRedis()]);
    const sql = postgres(pg.url, { max: 2, onnotice: () => {} });
    const redis = new Redis(redisServer.url);
    const dir = await Deno.makeTempDir();
    const engine = new FakeEngine({ region: "eu", clientPath: `${dir}/c.sock` });
    try {
      const first = await migrate(sql, await allMigrations());
      assertEquals(first.applied, [
        "001_events",
        "002_blocks",
        "003_event_sources",
        "004_miner_lookup",
        "100_timescale_hypertable",
      ]);
      assertEquals((await migrate(sql, await allMigrations())).applied, []);

      const events = Array.from(
        { length: 10 },
        (_, i) => i === 4 ? engine.next("block_found", { height: 100, hash: "ab" }) : engine.next(),
      );
      // Seqs 3 and 7 arrive late.
      const early = events.filter((e) => e.seq !== 3 && e.seq !== 7);
      let r = await writeEvents(sql, early);
      assertEquals([r.inserted, r.blocks, r.sources[0].highest_seq, r.sources[0].missing], [
        8,
        1,
        10,
        2,
      ]);
      r = await writeEvents(sql, [events[2]]);
      assertEquals([r.inserted, r.sources[0].missing], [1, 1]);
      // A redelivery changes nothing.
      r = await writeEvents(sql, events);
      assertEquals([r.inserted, r.blocks, r.sources[0].missing], [1, 0, 0]);
      r = await writeEvents(sql, events);
      assertEquals([r.inserted, r.sources.length], [0, 0]);
      const [count] = await sql`select count(*)::int as n from events`;
      assertEquals(count.n, 10);
      const [block] = await sql`select region, height::int, block_hash from blocks`;
      assertEquals(block, { region: "eu", height: 100, block_hash: "ab" });

      const sink = new RedisSink(redis, { streamMaxLen: 1000, dedupTtlSeconds: 3600 });
      const payloads = events.map((e) => JSON.stringify(e));
      assertEquals(await sink.write(events, payloads), 10);
      assertEquals(await sink.write(events, payloads), 0);
      assertEquals(await redis.xlen("events:share_submitted"), 9);
      assertEquals(await redis.xlen("events:block_found"), 1);
    } finally {
      engine.close();
      redis.disconnect();
      await sql.end();
      await Promise.all([pg.stop(), redisServer.stop()]);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
