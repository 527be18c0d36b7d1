/**
 * A store connection that stops answering (half-open TCP, frozen server) must
 * fail the write so the pipeline's retry path runs, never hang it.
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import postgres from "postgres";
import { Redis } from "ioredis";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { startPostgres } from "../../lib/harness/postgres.ts";
import { startRedis } from "../../lib/harness/redis.ts";
import { allMigrations, migrate } from "../../functions/collector/migrate.ts";
import { writeEvents } from "../../functions/collector/pg_sink.ts";
import { RedisSink } from "../../functions/collector/redis_sink.ts";
import {
  pgOptions,
  pgWriteTimeoutMs,
  redisOptions,
  withTimeout,
} from "../../functions/collector/collector.ts";
import { waitFor } from "../../lib/ports.ts";
import { startFreezeProxy } from "./_freeze_proxy.ts";
import { FakeEngine } from "../../lib/harness/fake_engine.ts";

requires({
  name: "collector: writes to a frozen PostgreSQL or Redis connection fail instead of hanging",
  permissions: SERVICE_PERMISSIONS,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const [pg, redisServer] = await Promise.all([startPostgres(), startRedis()]);
    const pgProxy = startFreezeProxy(Number(new URL(pg.url).port));
    const redisProxy = startFreezeProxy(redisServer.port);
    const timeouts = { pgStatementTimeoutMs: 300, redisCommandTimeoutMs: 300 };
    const pgUrl = new URL(pg.url);
    pgUrl.port = String(pgProxy.port);
    const sql = postgres(pgUrl.toString(), { ...pgOptions(timeouts), max: 1 });
    const redis = new Redis(`redis://127.0.0.1:${redisProxy.port}`, redisOptions(timeouts));
    redis.on("error", () => {});
    const dir = await Deno.makeTempDir();
    const engine = new FakeEngine({ region: "eu", clientPath: `${dir}/c.sock` });
    try {
      await redis.connect();
      await migrate(sql, await allMigrations());
      const sink = new RedisSink(redis, { streamMaxLen: 1000, dedupTtlSeconds: 86_400 });
      const writePg = (events: ReturnType<FakeEngine["next"]>[]) =>
        withTimeout(writeEvents(sql, events), pgWriteTimeoutMs(timeouts), "postgres write");
      const warm = [engine.next()];
      assertEquals((await writePg(warm)).inserted, 1);
      assertEquals(await sink.write(warm, [JSON.stringify(warm[0])]), 1);

      pgProxy.freeze();
      redisProxy.freeze();
      const events = [engine.next()];
      const outcome: Record<string, string> = {};
      writePg(events).then(() => (outcome.pg = "ok"), () => (outcome.pg = "failed"));
      sink.write(events, [JSON.stringify(events[0])]).then(
        () => (outcome.redis = "ok"),
        () => (outcome.redis = "failed"),
      );
      await waitFor(() => outcome.pg !== undefined && outcome.redis !== undefined, {
        timeoutMs: 30_000,
        what: "both frozen writes to settle",
      });
      assertEquals(outcome, { pg: "failed", redis: "failed" });
    } finally {
      engine.close();
      redis.disconnect();
      pgProxy.close();
      redisProxy.close();
      await sql.end({ timeout: 1 });
      await Promise.all([pg.stop(), redisServer.stop()]);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
