/**
 * Loss accounting and observability. With the consumer stopped while shares
 * flow, mining goes on (every share is answered), the engine holds the events
 * (queued, none dropped) and, once the consumer is back, delivers them after
 * resending the last ones the old consumer was sent: every seq arrives, each
 * with one event_id. /metrics
 * parses strictly as Prometheus text and its counters match what the test
 * did; /health goes down without the node and back to ok with it.
 */

import { assert, assertEquals } from "../assert.ts";
import { startBitcoinNode } from "../../lib/harness/bitcoin_node.ts";
import { type Engine, startEngine } from "../../lib/harness/engine.ts";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { waitFor } from "../../lib/ports.ts";
import {
  connectMiner,
  mineShare,
  onNewTip,
  regtestAddress,
  submitShare,
} from "../../lib/harness/stratum_miner.ts";
import {
  EventConsumer,
  health,
  mineNonBlock,
  parsePrometheus,
  sample,
  scrape,
  total,
} from "./_helpers.ts";

/** Distinct seqs received (resent events arrive twice). */
function distinctSeqs(consumer: EventConsumer): number {
  return new Set(consumer.events.map((e) => e.seq)).size;
}

/** Waits until every event the engine produced so far was delivered or dropped. */
async function settled(engine: Engine, consumer: EventConsumer) {
  return await waitFor(async () => {
    const m = await scrape(engine);
    const emitted = total(m, "ckpool_events_emitted_total");
    return sample(m, "ckpool_events_queued") === 0 && emitted === distinctSeqs(consumer) ? m : null;
  }, { what: "the event queue to drain" });
}

requires({
  unstableNet: true,
  name: "events: held while the consumer is away, every seq delivered after; mining never pauses",
  permissions: SERVICE_PERMISSIONS,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ckpool-events-loss-" });
    const consumer = new EventConsumer(`${dir}/events.sock`);
    consumer.start();
    const node = await startBitcoinNode();
    try {
      const engine = await startEngine(node, {
        events: { enabled: true, socket_path: consumer.path, hashrate_interval_sec: 3600 },
        startdiff: 1e-10,
        mindiff: 1e-10,
        maxdiff: 1e-10,
      });
      try {
        const address = regtestAddress();
        const { client, job } = await connectMiner(engine, address);
        const submitSome = async (n: number) => {
          for (let i = 0; i < n; i++) {
            const answer = await submitShare(client, address, mineNonBlock(client, job));
            assertEquals(answer, { result: true, error: null }, "the share was answered");
          }
        };
        await submitSome(5);
        await settled(engine, consumer);
        assertEquals(total(await scrape(engine), "ckpool_events_dropped_total"), 0);

        await consumer.stop();
        await submitSome(40);
        // The emitter notices on its own thread: it may trail the answered shares.
        const away = await waitFor(async () => {
          const m = await scrape(engine);
          const holding = sample(m, "ckpool_events_queued")! > 0 &&
            sample(m, "ckpool_events_consumer_connected") === 0;
          return holding ? m : null;
        }, { what: "events held while the consumer is away" });
        assertEquals(total(away, "ckpool_events_dropped_total"), 0, "nothing dropped");

        consumer.start();
        const m = await settled(engine, consumer);
        assertEquals(total(m, "ckpool_events_dropped_total"), 0, "nothing dropped");
        const seqs = [...new Set(consumer.events.map((e) => e.seq))].sort((a, b) => a - b);
        assertEquals(seqs.length, total(m, "ckpool_events_emitted_total"));
        assert(seqs.every((s, i) => s === i + 1), "every seq from 1 arrived");
        const ids = new Map<number, string>();
        for (const e of consumer.events) {
          assertEquals(ids.get(e.seq) ?? e.event_id, e.event_id, `seq ${e.seq}: one event_id`);
          ids.set(e.seq, e.event_id);
        }
        assert(consumer.events.length > seqs.length, "the events sent before are resent");
        await client.close();
      } finally {
        assertEquals(await engine.stop(), 0);
      }
    } finally {
      await node.stop();
      await consumer.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

requires({
  unstableNet: true,
  name:
    "metrics: strict Prometheus text whose counters match the session; /health follows the node",
  permissions: SERVICE_PERMISSIONS,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ckpool-events-metrics-" });
    const consumer = new EventConsumer(`${dir}/events.sock`);
    consumer.start();
    const node = await startBitcoinNode();
    try {
      const engine = await startEngine(node, {
        events: { enabled: true, socket_path: consumer.path, hashrate_interval_sec: 3600 },
        region: "us-east",
        pool_instance: "ckpool-metrics-test",
        startdiff: 1e-10,
        mindiff: 1e-10,
        maxdiff: 1e-10,
      });
      try {
        const address = regtestAddress("p2pkh");
        const { client, job } = await connectMiner(engine, address);
        for (let i = 0; i < 3; i++) {
          assertEquals(
            await submitShare(client, address, mineNonBlock(client, job)),
            { result: true, error: null },
          );
        }
        const first = mineNonBlock(client, job);
        await submitShare(client, address, first);
        assertEquals((await submitShare(client, address, first)).error?.code, 22);
        await client.submit(address, "00000000deadbeef", "00".repeat(8), "00000000", "00000000");
        const block = mineShare(client, job, { difficulty: 1e-9 });
        assertEquals(await submitShare(client, address, block), { result: true, error: null });
        await waitFor(() => consumer.of("block_found").length > 0, { what: "block_found" });
        // the block's new tip, not just the next notify (a periodic update may come first)
        await client.waitForJob(onNewTip(job));
        // Not a block: a block solution for a replaced job is submitted anyway.
        assertEquals(
          (await submitShare(client, address, mineNonBlock(client, job))).error?.code,
          21,
        );

        const m = await settled(engine, consumer);
        assertEquals(sample(m, "ckpool_miners_connected"), 1);
        assertEquals(sample(m, "ckpool_connections"), 1);
        assertEquals(sample(m, "ckpool_shares_total", { result: "accepted" }), 5);
        assertEquals(sample(m, "ckpool_shares_total", { result: "rejected" }), 3);
        assertEquals(sample(m, "ckpool_shares_rejected_total", { reason: "duplicate" }), 1);
        assertEquals(sample(m, "ckpool_shares_rejected_total", { reason: "job_not_found" }), 1);
        assertEquals(sample(m, "ckpool_shares_rejected_total", { reason: "stale" }), 1);
        assertEquals(sample(m, "ckpool_shares_rejected_total", { reason: "low_diff" }), 0);
        assertEquals(sample(m, "ckpool_stale_shares_total"), 1);
        assertEquals(sample(m, "ckpool_blocks_found_total"), 1);
        assertEquals(sample(m, "ckpool_blocks_submitted_total"), 1);
        assertEquals(sample(m, "ckpool_blocks_accepted_total"), 1);
        assertEquals(sample(m, "ckpool_blocks_rejected_total"), 0);
        assertEquals(sample(m, "ckpool_template_height"), 2);
        assert(sample(m, "ckpool_template_age_seconds") >= 0);
        assert(sample(m, "ckpool_share_rate") >= 0);
        assert(sample(m, "ckpool_bitcoind_rpc_latency_seconds_count") > 0);
        assertEquals(
          sample(m, "ckpool_bitcoind_rpc_latency_seconds_bucket", { le: "+Inf" }),
          sample(m, "ckpool_bitcoind_rpc_latency_seconds_count"),
        );
        assertEquals(sample(m, "ckpool_bitcoind_rpc_errors_total"), 0);
        for (const type of new Set(consumer.events.map((e) => e.event))) {
          assertEquals(
            sample(m, "ckpool_events_emitted_total", { type }),
            consumer.of(type).length,
            `emitted ${type}`,
          );
          assertEquals(sample(m, "ckpool_events_queued_by_type", { type }), 0);
        }
        assertEquals(total(m, "ckpool_events_dropped_total"), 0);
        assertEquals(sample(m, "ckpool_events_consumer_connected"), 1);
        assert(sample(m, "ckpool_uptime_seconds") > 0);
        assertEquals(
          sample(m, "ckpool_build_info", {
            region: "us-east",
            mode: "primary",
            pool_instance: "ckpool-metrics-test",
          }),
          1,
        );

        const ok = await health(engine);
        assertEquals([ok.http, ok.body.status, ok.body.reasons], [200, "ok", []]);
        assertEquals(ok.body.region, "us-east");

        await node.kill();
        const down = await waitFor(async () => {
          const h = await health(engine);
          return h.body.status === "down" ? h : null;
        }, { what: "/health down" });
        assertEquals(down.http, 503);
        assert(down.body.reasons.includes("bitcoind unreachable"), down.body.reasons.join("; "));
        assert(sample(await scrape(engine), "ckpool_bitcoind_rpc_errors_total") > 0);

        await node.restart();
        const back = await waitFor(async () => {
          const h = await health(engine);
          return h.body.status === "ok" ? h : null;
        }, { what: "/health ok again" });
        assertEquals(back.http, 200);
        await client.close();
      } finally {
        assertEquals(await engine.stop(), 0);
      }
    } finally {
      await node.stop();
      await consumer.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("prometheus parser: rejects what the format forbids", () => {
  const good = '# HELP a_total A.\n# TYPE a_total counter\na_total{x="1",y="q\\""} 3\n';
  assertEquals(sample(parsePrometheus(good), "a_total", { x: "1", y: 'q"' }), 3);
  for (
    const bad of [
      "a 1\n", // no HELP/TYPE
      "# TYPE a counter\na 1\n", // TYPE without HELP
      "# HELP a A.\n# TYPE a counter\na one\n", // value
      '# HELP a A.\n# TYPE a counter\na{1x=""} 1\n', // label name
      "# HELP a A.\n# TYPE a counter\na{x=1} 1\n", // unquoted
      "# HELP a A.\n# TYPE a counter\na 1\na 2\n", // repeated sample
      "# HELP a A.\n# TYPE a counter\na 1", // no final newline
      "# HELP a A.\n# TYPE a wrong\na 1\n", // type
    ]
  ) {
    let threw = false;
    try {
      parsePrometheus(bad);
    } catch {
      threw = true;
    }
    assert(threw, `parser accepted ${JSON.stringify(bad)}`);
  }
});
