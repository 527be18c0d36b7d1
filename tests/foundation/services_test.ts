/**
 * The test-service harness: nats-server (JetStream), redis-server and
 * PostgreSQL each start on a free loopback port, serve a real client, keep
 * their data across a restart (and, where the server promises durability, a
 * kill), and leave nothing behind when stopped.
 */

import assert from "node:assert/strict";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { startNats } from "../../lib/harness/nats.ts";
import { startRedis } from "../../lib/harness/redis.ts";
import { startPostgres } from "../../lib/harness/postgres.ts";
import { exists } from "../../lib/fs.ts";
import { tcpOpen } from "../../stack/supervisor/readiness.ts";

/** After stop(): the process is gone and nothing listens on its port. */
async function assertGone(pid: number, port: number): Promise<void> {
  assert.equal(exists(`/proc/${pid}`), false, `pid ${pid} still exists`);
  assert.equal(await tcpOpen(port), false, `port ${port} still accepts connections`);
}

requires({
  name: "harness: nats-server with JetStream keeps a stream across restart",
  permissions: SERVICE_PERMISSIONS,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // Imported here: loading the npm clients reads the environment, which a
    // narrower `deno test` run may not allow, and that must not fail the file.
    const { connect } = await import("@nats-io/transport-node");
    const { jetstream, jetstreamManager, StorageType } = await import("@nats-io/jetstream");
    const nats = await startNats();
    try {
      assert.match(nats.url, /^nats:\/\/127\.0\.0\.1:\d+$/);
      let nc = await connect({ servers: nats.url });
      const jsm = await jetstreamManager(nc);
      await jsm.streams.add({
        name: "HARNESS",
        subjects: ["harness.>"],
        storage: StorageType.File,
      });
      const js = jetstream(nc);
      for (const id of ["a", "b", "c"]) {
        await js.publish(`harness.${id}`, `event ${id}`, { msgID: id });
      }
      // The duplicate window drops a re-sent message id.
      const dup = await js.publish("harness.a", "event a", { msgID: "a" });
      assert.equal(dup.duplicate, true);
      await nc.close();

      const pidBefore = nats.pid;
      await nats.restart();
      assert.notEqual(nats.pid, pidBefore);

      nc = await connect({ servers: nats.url });
      const info = await (await jetstreamManager(nc)).streams.info("HARNESS");
      assert.equal(info.state.messages, 3);
      await nc.close();
    } finally {
      await nats.stop();
    }
    await assertGone(nats.pid, nats.port);
    assert.equal(exists(nats.storeDir), false, "the temp store dir was removed");
  },
});

requires({
  name: "harness: redis-server keeps writes across restart and kill",
  permissions: SERVICE_PERMISSIONS,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { Redis } = await import("ioredis");
    const redis = await startRedis();
    try {
      let client = new Redis(redis.url);
      await client.xadd("events:harness", "*", "event_id", "e1");
      await client.set("before-restart", "1");
      await client.quit();

      await redis.restart();
      client = new Redis(redis.url);
      assert.equal(await client.get("before-restart"), "1");
      await client.set("before-kill", "2");
      await client.quit();

      // appendfsync always: an acknowledged write survives SIGKILL.
      await redis.kill();
      assert.equal(await tcpOpen(redis.port), false);
      await redis.restart();
      client = new Redis(redis.url);
      assert.equal(await client.get("before-kill"), "2");
      assert.equal(await client.xlen("events:harness"), 1);
      await client.quit();
    } finally {
      await redis.stop();
    }
    await assertGone(redis.pid, redis.port);
    assert.equal(exists(redis.dir), false);
  },
});

requires({
  name: "harness: postgres serves database tbg and keeps rows across restart and kill",
  permissions: SERVICE_PERMISSIONS,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const { default: postgres } = await import("postgres");
    const pg = await startPostgres();
    try {
      assert.equal(pg.database, "tbg");
      assert.match(pg.url, /^postgres:\/\/tbg@127\.0\.0\.1:\d+\/tbg$/);
      let sql = postgres(pg.url, { onnotice: () => {} });
      const [{ db }] = await sql<{ db: string }[]>`SELECT current_database() AS db`;
      assert.equal(db, "tbg");
      await sql`CREATE TABLE harness (id text PRIMARY KEY)`;
      await sql`INSERT INTO harness VALUES ('committed before restart')`;
      await sql.end();

      await pg.restart();
      sql = postgres(pg.url, { onnotice: () => {} });
      await sql`INSERT INTO harness VALUES ('committed before kill')`;
      await sql.end();

      // A committed row is in the WAL: crash recovery brings it back.
      await pg.kill();
      await pg.restart();
      sql = postgres(pg.url, { onnotice: () => {} });
      const rows = await sql<{ id: string }[]>`SELECT id FROM harness ORDER BY id`;
      assert.deepEqual(rows.map((r) => r.id), [
        "committed before kill",
        "committed before restart",
      ]);
      await sql.end();
    } finally {
      await pg.stop();
    }
    await assertGone(pg.pid, pg.port);
    assert.equal(exists(pg.dataDir), false);
  },
});

requires({
  name: "harness: services started with `await using` are stopped at scope exit",
  permissions: SERVICE_PERMISSIONS,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    let pid = 0;
    let port = 0;
    {
      await using redis = await startRedis();
      pid = redis.pid;
      port = redis.port;
      assert.equal(await tcpOpen(port), true);
    }
    await assertGone(pid, port);
  },
});
