/**
 * Events a SIGKILL takes from the engine's queue are not lost silently: with
 * a state_dir, the next boot's first event (engine_started, seq 1) names the
 * killed boot and the seq it would have reached, which is the last seq the
 * consumer saw plus every event still queued at the kill (docs/events.md).
 * Needs --unstable-net (Deno.listenDatagram); ignored without it.
 */

import { assertEquals } from "../assert.ts";
import { startBitcoinNode } from "../../lib/harness/bitcoin_node.ts";
import { scrapeMetrics, startEngine } from "../../lib/harness/engine.ts";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { waitFor } from "../../lib/ports.ts";
import { connectMiner, regtestAddress } from "../../lib/harness/stratum_miner.ts";
import { EventConsumer } from "../events/_helpers.ts";

const HELD = 7;

requires({
  unstableNet: true,
  name: "engine: after a SIGKILL, engine_started announces the killed boot's last seq",
  permissions: SERVICE_PERMISSIONS,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ckpool-killgap-" });
    const path = `${dir}/events.sock`;
    const sink = new EventConsumer(path);
    sink.start();
    const node = await startBitcoinNode();
    try {
      const engine = await startEngine(node, {
        events: { enabled: true, socket_path: path, hashrate_interval_sec: 3600 },
        state_dir: `${dir}/state`,
      });
      try {
        const address = regtestAddress();
        const { client } = await connectMiner(engine, address);
        // A malformed submit is answered and emits one share_submitted.
        const reject = () => client.submit(address, "00000000deadbeef", "00", "00000000", "0");
        await reject();
        // of() returns an array, truthy even when empty: wait for its first element.
        const seen = await waitFor(() => sink.of("share_submitted")[0], {
          what: "the first share_submitted",
        });
        const firstBoot = seen.boot_id;
        assertEquals(sink.of("engine_started").length, 0);
        const delivered = sink.events.filter((e) => e.boot_id === firstBoot);
        const lastSeq = Math.max(...delivered.map((e) => e.seq));
        assertEquals(lastSeq, delivered.length, "nothing dropped before the consumer went");

        // The consumer goes; HELD more events wait in the engine's queue.
        await sink.stop();
        for (let i = 0; i < HELD; i++) await reject();
        await waitFor(async () => {
          const m = await scrapeMetrics(engine);
          return m.get("ckpool_events_consumer_connected") === 0 &&
            (m.get("ckpool_events_queued") ?? 0) >= HELD - 1;
        }, { what: "the held events queued (one is the emitter's, waiting to be sent)" });
        await engine.kill();
        await client.close(); // after the kill: a disconnect would emit one more event

        sink.start();
        await engine.restart();
        const started = await waitFor(() => sink.of("engine_started")[0], {
          what: "engine_started from the new boot",
        });
        assertEquals(started.seq, 1);
        assertEquals(started.data, {
          previous_boot_id: firstBoot,
          previous_last_seq: lastSeq + HELD,
        });
      } finally {
        await engine.stop();
      }
    } finally {
      await node.stop();
      await sink.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
