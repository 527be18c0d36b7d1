/**
 * The collector (a real subprocess, fed through the publisher and JetStream)
 * has its PostgreSQL backends terminated with pg_terminate_backend at three
 * moments: inside its migration transaction, in the middle of a batch write,
 * and while idle. Each time it must stay up, log and retry, acknowledge
 * nothing that did not commit, and in the end hold every event exactly once.
 * The moments are made deterministic with locks the test holds: the
 * migration waits on its advisory lock, a write waits on a table lock.
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { jetstreamManager } from "@nats-io/jetstream";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { waitFor } from "../../lib/ports.ts";
import { connectNats } from "../../functions/lib/nats_connect.ts";
import { CONSUMER_NAME, STREAM_NAME } from "../../functions/lib/stream.ts";
import { MIGRATION_LOCK_KEY } from "../../functions/collector/migrate.ts";
import { FakeEngine } from "../../lib/harness/fake_engine.ts";
import { metric } from "../../lib/harness/functions.ts";
import {
  type PipelineStack,
  sourceRow,
  startPipeline,
  waitForAll,
} from "../../lib/harness/pipeline.ts";

interface Backend {
  pid: number;
  state: string | null;
  wait_event_type: string | null;
  wait_event: string | null;
}

function collectorBackends(stack: PipelineStack): Promise<Backend[]> {
  return stack.sql<Backend[]>`
    select pid, state, wait_event_type, wait_event from pg_stat_activity
    where application_name = 'collector'`;
}

/** Terminates every collector backend `pick` selects; returns their pids. */
async function terminate(stack: PipelineStack, pick: (b: Backend) => boolean): Promise<number[]> {
  const pids = (await collectorBackends(stack)).filter(pick).map((b) => b.pid);
  for (const pid of pids) await stack.sql`select pg_terminate_backend(${pid})`;
  return pids;
}

/** Waits until a collector backend not in `killed` waits for a lock of kind `waitEvent`. */
function waitLocked(stack: PipelineStack, waitEvent: string, killed: number[]): Promise<number> {
  return waitFor(async () => {
    const found = (await collectorBackends(stack)).find((b) =>
      b.wait_event_type === "Lock" && b.wait_event === waitEvent && !killed.includes(b.pid)
    );
    return found?.pid;
  }, { timeoutMs: 60_000, intervalMs: 50, what: `a collector backend waiting on ${waitEvent}` });
}

async function sendEvents(stack: PipelineStack, engine: FakeEngine, n: number): Promise<void> {
  for (let i = 0; i < n; i++) await engine.send(stack.socketPath, engine.next());
}

async function assertExactlyOnce(stack: PipelineStack, engine: FakeEngine, phase: string) {
  const n = engine.seq;
  const counts = await waitForAll(stack, engine.bootId, n, 120_000);
  assertEquals(
    { phase, ...counts },
    { phase, pgRows: n, pgDistinctSeqs: n, redisEntries: n, redisDistinctSeqs: n },
  );
  const source = await sourceRow(stack, engine.bootId);
  assertEquals({ phase, highest: source?.highest_seq, missing: source?.missing }, {
    phase,
    highest: n,
    missing: 0,
  });
}

function assertAlive(stack: PipelineStack, phase: string) {
  assertEquals(
    { phase, exitCode: stack.collector.exitCode },
    { phase, exitCode: null },
    stack.collector.log().slice(-3000),
  );
}

/** Log lines of the collector with message `msg`. */
function logLines(stack: PipelineStack, msg: string): Record<string, unknown>[] {
  return stack.collector.log().split("\n").filter((l) => l.startsWith("{"))
    .map((l) => JSON.parse(l) as Record<string, unknown>).filter((r) => r.msg === msg);
}

requires({
  name: "collector: backends terminated mid-migration, mid-write and idle; it stays up, " +
    "acks nothing uncommitted, every event lands once",
  permissions: SERVICE_PERMISSIONS,
  unstableNet: true,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const stack = await startPipeline({ region: "eu", startCollector: false });
    const engine = new FakeEngine({ region: "eu", clientPath: `${stack.dir}/engine-client.sock` });
    const nc = await connectNats({
      servers: stack.nats.url,
      name: "test",
      waitOnFirstConnect: false,
    });
    const jsm = await jetstreamManager(nc);
    const ackPending = async () =>
      (await jsm.consumers.info(STREAM_NAME, CONSUMER_NAME)).num_ack_pending;
    const killed: number[] = [];
    try {
      await t.step("during the migration transaction", async () => {
        // Events wait in JetStream while the collector cannot migrate.
        await sendEvents(stack, engine, 50);
        const lock = await stack.sql.reserve();
        await lock`select pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
        const starting = stack.startCollector();
        for (let i = 0; i < 2; i++) {
          killed.push(await waitLocked(stack, "advisory", killed));
          await stack.sql`select pg_terminate_backend(${killed[killed.length - 1]})`;
        }
        await lock`select pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
        lock.release();
        await starting;
        assertAlive(stack, "migration");
        const retries = logLines(stack, "postgres not ready for migrations; retrying");
        assertEquals(retries.length >= 2, true, JSON.stringify(retries));
        assertEquals(retries[0].level, "warn");
        await assertExactlyOnce(stack, engine, "migration");
      });

      await t.step("in the middle of a batch write, twice", async () => {
        const before = engine.seq;
        // The write's event_sources upsert waits on this lock, uncommitted.
        const blocker = await stack.sql.reserve();
        await blocker`begin`;
        await blocker`lock table event_sources in exclusive mode`;
        await sendEvents(stack, engine, 30);
        for (let round = 0; round < 2; round++) {
          await waitLocked(stack, "relation", killed);
          const [{ n }] = await stack.sql<{ n: string }[]>`
            select count(*)::text as n from events
            where boot_id = ${engine.bootId} and seq > ${before}`;
          assertEquals({ round, committed: n, acked: (await ackPending()) > 0 }, {
            round,
            committed: "0",
            acked: true,
          });
          killed.push(...await terminate(stack, (b) => b.wait_event === "relation"));
        }
        await blocker`rollback`;
        blocker.release();
        await assertExactlyOnce(stack, engine, "mid-write");
        assertAlive(stack, "mid-write");
        const failed = await metric(
          stack.collectorPort,
          'collector_sink_errors_total{sink="postgres"}',
        );
        assertEquals((failed ?? 0) >= 2, true, `postgres write failures: ${failed}`);
        assertEquals(logLines(stack, "write failed; not acknowledging, retrying").length > 0, true);
      });

      await t.step("while idle", async () => {
        await waitFor(
          async () => (await collectorBackends(stack)).every((b) => b.state === "idle"),
          { timeoutMs: 30_000, what: "the collector's backends to go idle" },
        );
        const idle = await terminate(stack, (b) => b.state === "idle");
        assertEquals(idle.length > 0, true);
        await waitFor(async () =>
          (await collectorBackends(stack)).every((b) => !idle.includes(b.pid))
        );
        await sendEvents(stack, engine, 30);
        await assertExactlyOnce(stack, engine, "idle");
        assertAlive(stack, "idle");
      });

      // The migration fix, not the safety net, kept it alive.
      assertEquals(await metric(stack.collectorPort, "collector_pg_client_faults_total"), 0);
      assertEquals(stack.collector.log().includes("Uncaught"), false);
      assertEquals(await ackPending(), 0);
    } finally {
      await nc.close();
      engine.close();
      await stack.close();
    }
  },
});
