/**
 * Passthrough mode end to end: a primary and two relays on loopback, each
 * with its own regtest node peered to the primary's. Miners on every region
 * work on the primary's template; a new block reaches every relay's miners
 * with the template latency reported; a block found on a relay goes out on
 * both paths, reaches every node, pays its miner and is reported once with
 * the relay's region. Needs --unstable-net (event sockets).
 */

import { assert, assertEquals } from "../assert.ts";
import { scrapeMetrics } from "../../lib/harness/engine.ts";
import { type RequiredTest, requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { waitFor } from "../../lib/ports.ts";
import { toHex } from "../../lib/bitcoin/mod.ts";
import type { Job } from "../../lib/stratum/job.ts";
import {
  blockAt,
  connectMiner,
  mineShare,
  prevhashHex,
  regtestAddress,
  sats,
  submitShare,
} from "../../lib/harness/stratum_miner.ts";
import { jobSeen, startTopology, waitForHeight } from "./_topology.ts";

/** Above regtest's network difficulty: every share found is a block. */
const BLOCK_DIFFICULTY = 1e-9;

const relayTest = (test: RequiredTest) => requires({ ...test, unstableNet: true });

/** What makes two jobs the same work (job ids differ per engine). */
function work(job: Job) {
  return {
    prevhash: toHex(job.prevhash),
    coinb1: toHex(job.coinb1),
    coinb2: toHex(job.coinb2),
    branch: job.merkleBranch.map(toHex),
    version: job.version,
    bits: job.bits,
  };
}

relayTest({
  name: "relay: every region mines the primary's template; new blocks reach every relay",
  permissions: SERVICE_PERMISSIONS,
  fn: async () => {
    const topo = await startTopology();
    const address = regtestAddress();
    const miners = [];
    try {
      for (const region of [topo.primary, ...topo.relays]) {
        miners.push({ region, ...(await connectMiner(region.engine, address)) });
      }
      const [primaryMiner, ...relayMiners] = miners;
      for (const m of relayMiners) {
        assertEquals(work(m.job), work(primaryMiner.job), `${m.region.name} mines the same work`);
      }
      // The relays never asked their own node for a template.
      for (const relay of topo.relays) {
        const m = await scrapeMetrics(relay.engine);
        assertEquals(m.get("ckpool_relay_independent_mode"), 0);
        assertEquals(m.get("ckpool_relay_local_templates_total") ?? 0, 0);
      }

      // A block found on the primary: every relay's miners move to it.
      const share = mineShare(primaryMiner.client, primaryMiner.job, {
        difficulty: BLOCK_DIFFICULTY,
      });
      assert(share.isBlock);
      assertEquals(await submitShare(primaryMiner.client, address, share), {
        result: true,
        error: null,
      });
      const onBlock = (j: Job) => prevhashHex(j) === share.hashHex;
      const primaryNext = await primaryMiner.client.waitForJob(onBlock);
      assert((await jobSeen(primaryMiner.client, onBlock)).cleanJobs);
      for (const m of relayMiners) {
        const first = await jobSeen(m.client, onBlock);
        assert(
          first.cleanJobs,
          `${m.region.name}: the first job on the new block drops the old work`,
        );
        // Then the primary's template on that block (the relay's own node may come first).
        await jobSeen(
          m.client,
          (j) => JSON.stringify(work(j)) === JSON.stringify(work(primaryNext)),
        );
        const metrics = await scrapeMetrics(m.region.engine);
        assert((metrics.get("ckpool_relay_templates_received_total") ?? 0) >= 2);
        assert(metrics.has("ckpool_relay_last_template_latency_seconds"), "latency reported");
        assert((metrics.get("ckpool_relay_last_template_latency_seconds") ?? -1) >= 0);
      }
    } finally {
      for (const m of miners) await m.client.close();
      await topo.close();
    }
  },
});

relayTest({
  name: "relay: a block found on a relay goes both ways, reaches every node and pays its miner",
  permissions: SERVICE_PERMISSIONS,
  fn: async () => {
    const topo = await startTopology();
    const relay = topo.relays[0];
    const address = regtestAddress();
    const { client, job } = await connectMiner(relay.engine, address, { worker: "rig1" });
    try {
      const start = await topo.primary.node.rpc<number>("getblockcount");
      const share = mineShare(client, job, { difficulty: BLOCK_DIFFICULTY });
      assert(share.isBlock);
      assertEquals(await submitShare(client, `${address}.rig1`, share), {
        result: true,
        error: null,
      });
      const nodes = [topo.primary.node, ...topo.relays.map((r) => r.node)];
      await waitForHeight(nodes, start + 1);
      for (const node of nodes) {
        const block = await blockAt(node, start + 1);
        assertEquals(block.hash, share.hashHex, "every node has the relay's block");
        assertEquals(block.tx[0].vout[0].scriptPubKey.address, address, "pays the miner");
        assertEquals(sats(block.tx[0].vout[0].value), 50 * 1e8);
      }
      const found = await relay.sink.find("block_found", (d) => d.hash === share.hashHex);
      assertEquals(found.region, relay.name);
      assertEquals(found.data.region, relay.name);
      assertEquals(found.data.accepted, true);
      const paths = found.data.submissions as Array<Record<string, unknown>>;
      assertEquals(paths.map((p) => p.path).sort(), ["local", "primary"]);
      for (const p of paths) {
        assert(["accepted", "duplicate"].includes(p.result as string), JSON.stringify(p));
        assert(typeof p.ms === "number" && p.ms >= 0);
      }
      assert(["local", "primary"].includes(found.data.first_success_path as string));
      assertEquals(
        relay.sink.events.filter((e) => e.event === "block_found").length,
        1,
        "reported once",
      );
      // The primary's node accepted it through the link; the primary reported no block of its own.
      await waitFor(async () =>
        (await scrapeMetrics(topo.primary.engine)).get(
          `ckpool_relay_blocks_received_total{region="${relay.name}",pool_instance="${relay.engine.config.pool_instance}"}`,
        ) === 1, { what: "primary counted the relayed block" });
      assertEquals(topo.primary.sink.events.filter((e) => e.event === "block_found").length, 0);
    } finally {
      await client.close();
      await topo.close();
    }
  },
});

relayTest({
  name: "relay: a block its own node sees first moves miners at once, then the primary's template",
  permissions: SERVICE_PERMISSIONS,
  standInOnly: "-blockrelaydelay, fillmempool",
  fn: async () => {
    // The relay's node tells the primary's node late, so the relay's own node is first.
    const topo = await startTopology({
      relays: ["us-east"],
      relayNode: { blockRelayDelayMs: 1500 },
      overrides: { update_interval: 1 }, // the primary picks up its mempool soon
    });
    const relay = topo.relays[0];
    const address = regtestAddress();
    await topo.primary.node.rpc("fillmempool", [10]);
    const primaryMiner = await connectMiner(topo.primary.engine, address);
    const relayMiner = await connectMiner(relay.engine, address);
    try {
      // Both on the primary's template with its transactions.
      const withTxs = await primaryMiner.client.waitForJob((j) => j.merkleBranch.length > 0);
      await relayMiner.client.waitForJob((j) =>
        JSON.stringify(work(j)) === JSON.stringify(work(withTxs))
      );

      const [hash] = await relay.node.rpc<string[]>("generatetoaddress", [1, regtestAddress()]);
      // At once: the own node's template on the new block (no transactions), clean_jobs.
      const local = await jobSeen(relayMiner.client, (j) => prevhashHex(j) === hash);
      assert(local.cleanJobs, "miners drop the old block's work");
      assertEquals(local.merkleBranch.length, 0, "the own node's template");
      // Then the primary's template on the same block, with its transactions.
      const primaryNext = await primaryMiner.client.waitForJob((j) =>
        prevhashHex(j) === hash && j.merkleBranch.length > 0
      );
      await relayMiner.client.waitForJob((j) =>
        JSON.stringify(work(j)) === JSON.stringify(work(primaryNext))
      );
      const m = await scrapeMetrics(relay.engine);
      assertEquals(m.get("ckpool_relay_local_templates_total"), 1);
      assertEquals(m.get("ckpool_relay_independent_mode"), 0);
    } finally {
      await relayMiner.client.close();
      await primaryMiner.client.close();
      await topo.close();
    }
  },
});
