/**
 * The chaos bench's store counter (bench/chaos/counting.ts) against a real
 * PostgreSQL and Redis: gaps and copies per boot in each store, counted up to
 * the watermark, gaps filled later, the final full count agreeing with the
 * incremental one, and the newest event per pool_instance.
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import postgres from "postgres";
import { Redis } from "ioredis";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { startPostgres } from "../../lib/harness/postgres.ts";
import { startRedis } from "../../lib/harness/redis.ts";
import { allMigrations, migrate } from "../../functions/collector/migrate.ts";
import { writeEvents } from "../../functions/collector/pg_sink.ts";
import { FakeEngine } from "../../lib/harness/fake_engine.ts";
import { type BootCount, StoreCounter } from "../../bench/chaos/counting.ts";
import type { Envelope } from "../../functions/lib/envelope.ts";
import { uuidv7 } from "../../functions/lib/uuid.ts";

const figures = (b: BootCount | undefined) =>
  b && {
    pg: [b.pg.stored, b.pg.lost, b.pg.duplicated],
    redis: [b.redis.stored, b.redis.lost, b.redis.duplicated],
  };

requires({
  name: "chaos counter: per-boot gaps and copies in PostgreSQL and Redis, incremental and full",
  permissions: SERVICE_PERMISSIONS,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const pg = await startPostgres();
    const redisServer = await startRedis();
    const sql = postgres(pg.url, { max: 2, onnotice: () => {} });
    const redis = new Redis(redisServer.url);
    const dir = await Deno.makeTempDir();
    const eu = new FakeEngine({ region: "eu", clientPath: `${dir}/eu` });
    const asia = new FakeEngine({ region: "asia", clientPath: `${dir}/asia` });
    const counter = new StoreCounter(pg.url, redisServer.url);
    const toRedis = (events: Envelope[]) =>
      Promise.all(
        events.map((e) => redis.xadd(`events:${e.event}`, "*", "envelope", JSON.stringify(e))),
      );
    // A second copy of an event: same boot and seq, its own event_id.
    const copy = (e: Envelope): Envelope => ({ ...e, event_id: uuidv7() });
    try {
      await migrate(sql, await allMigrations());
      const first = Array.from({ length: 20 }, () => eu.next());
      const at = (seq: number) => first[seq - 1];
      await writeEvents(sql, [...first.filter((e) => e.seq !== 5 && e.seq !== 6), copy(at(3))]);
      await toRedis([...first.filter((e) => e.seq !== 7), at(4)]);
      const onlyRedis = [asia.next(), asia.next()];
      await toRedis(onlyRedis);

      await counter.readRedis();
      let boots = await counter.count();
      let boot = boots.find((b) => b.bootId === eu.bootId);
      assertEquals(figures(boot), { pg: [0, 0, 0], redis: [0, 0, 0] }, "no watermark yet");
      assertEquals([boot?.minSeq, boot?.maxSeq], [1, 20]);

      boots = await counter.count();
      boot = boots.find((b) => b.bootId === eu.bootId);
      assertEquals(figures(boot), { pg: [19, 2, 1], redis: [20, 1, 1] });
      assertEquals(
        figures(boots.find((b) => b.bootId === asia.bootId)),
        { pg: [0, 0, 0], redis: [0, 0, 0] },
        "in Redis only: its watermark is PostgreSQL's nothing",
      );

      // Seq 5 arrives late in PostgreSQL, seq 2 a second time in Redis, then 21..25 in both.
      await writeEvents(sql, [at(5)]);
      const more = Array.from({ length: 5 }, () => eu.next());
      await writeEvents(sql, more);
      await toRedis([at(2), ...more]);
      await counter.readRedis();
      boot = (await counter.count()).find((b) => b.bootId === eu.bootId);
      assertEquals(figures(boot), { pg: [20, 1, 1], redis: [21, 1, 2] }, "up to seq 20");
      boot = (await counter.count()).find((b) => b.bootId === eu.bootId);
      assertEquals(figures(boot), { pg: [25, 1, 1], redis: [26, 1, 2] }, "up to seq 25");

      const full = (await counter.count(true)).find((b) => b.bootId === eu.bootId);
      assertEquals(figures(full), figures(boot), "the full scan agrees");

      const newest = await counter.pgNewest(0);
      assertEquals([...newest.keys()], ["ckpool-eu"]);
      const off = Math.abs((newest.get("ckpool-eu") ?? 0) - more[4].ts / 1000);
      assertEquals(off < 0.01, true, `newest is the last event's ts (off by ${off} ms)`);
      assertEquals((await counter.pgNewest(more[4].ts / 1000 + 1)).size, 0, "none after");
      assertEquals(counter.latestBoot.get("ckpool-asia"), asia.bootId);
    } finally {
      await counter.close();
      redis.disconnect();
      await sql.end({ timeout: 1 });
      await redisServer.stop();
      await pg.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
