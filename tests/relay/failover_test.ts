/**
 * Independent mode: the primary engine is killed; relays keep accepting
 * shares, switch to their own node's templates within failover_threshold
 * (+1 s), report it (relay_mode_changed, ckpool_relay_independent_mode,
 * /health degraded) and find blocks their own node accepts. The primary comes
 * back on the same port: relays reconnect and mine its templates again.
 * Needs --unstable-net (event sockets).
 */

import { assert, assertEquals } from "../assert.ts";
import { scrapeMetrics } from "../../lib/harness/engine.ts";
import { type RequiredTest, requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { waitFor } from "../../lib/ports.ts";
import type { BitcoinNode } from "../../lib/harness/bitcoin_node.ts";
import {
  connectMiner,
  mineShare,
  prevhashHex,
  regtestAddress,
  submitShare,
} from "../../lib/harness/stratum_miner.ts";
import { jobSeen, startTopology, waitForLinkUp } from "./_topology.ts";

const BLOCK_DIFFICULTY = 1e-9;
const FAILOVER_THRESHOLD_S = 2;

const relayTest = (test: RequiredTest) => requires({ ...test, unstableNet: true });

type Miner = Awaited<ReturnType<typeof connectMiner>>;

/** Waits until every node has the same tip and the miner works on it, then mines a block there. */
async function mineBlockOnTip(miner: Miner, address: string, nodes: BitcoinNode[]) {
  const tip = await waitFor(async () => {
    const hashes = await Promise.all(nodes.map((n) => n.rpc<string>("getbestblockhash")));
    return hashes.every((h) => h === hashes[0]) && hashes[0];
  }, { what: "every node on the same tip" });
  const job = await miner.client.waitForJob((j) => prevhashHex(j) === tip, 20_000);
  const share = mineShare(miner.client, job, { difficulty: BLOCK_DIFFICULTY });
  assertEquals(await submitShare(miner.client, address, share), { result: true, error: null });
  return share.hashHex;
}

/** Waits until `node`'s best block is `hash`. */
function waitForTip(node: BitcoinNode, hash: string) {
  return waitFor(async () => (await node.rpc<string>("getbestblockhash")) === hash, {
    what: `tip ${hash}`,
  });
}

relayTest({
  name: "relay: primary down -> independent mode, own blocks; primary back -> relayed again",
  permissions: SERVICE_PERMISSIONS,
  fn: async () => {
    const topo = await startTopology({ failoverThreshold: FAILOVER_THRESHOLD_S });
    const address = regtestAddress();
    const miners = [];
    try {
      for (const relay of topo.relays) {
        miners.push({ relay, ...(await connectMiner(relay.engine, address)) });
      }
      const killedUs = Date.now() * 1000;
      await topo.primary.engine.kill();

      const nodes = [topo.primary.node, ...topo.relays.map((r) => r.node)];
      for (const m of miners) {
        // Shares (here blocks) keep being accepted at once, before any switch.
        const hash = await mineBlockOnTip(m, address, nodes);
        await waitForTip(m.relay.node, hash);
        assert((await jobSeen(m.client, (j) => prevhashHex(j) === hash)).cleanJobs);
      }
      for (const m of miners) {
        const changed = await m.relay.sink.find(
          "relay_mode_changed",
          (d) => d.to === "independent",
        );
        assertEquals(changed.data.from, "relayed");
        assertEquals(changed.data.relay_region, m.relay.name);
        const afterUs = changed.ts - killedUs;
        console.log(
          `${m.relay.name}: independent ${(afterUs / 1000).toFixed(0)} ms after the kill`,
        );
        assert(afterUs <= (FAILOVER_THRESHOLD_S + 1) * 1e6, `switched after ${afterUs} us`);
        const down = await m.relay.sink.find("relay_disconnected", (d) => d.side === "relay");
        assertEquals(down.data.primary_port, topo.relayPort);

        const metrics = await scrapeMetrics(m.relay.engine);
        assertEquals(metrics.get("ckpool_relay_independent_mode"), 1);
        const health = await (await fetch(`http://127.0.0.1:${m.relay.engine.metricsPort}/health`))
          .json();
        assertEquals(health.status, "degraded");
        assert(health.reasons.some((r: string) => r.includes("independent mode")));
      }

      // In independent mode a relay's block goes to its own node (the primary path is down).
      for (const m of miners) {
        const hash = await mineBlockOnTip(m, address, nodes);
        const found = await m.relay.sink.find("block_found", (d) => d.hash === hash);
        assertEquals(found.data.accepted, true);
        assertEquals(found.data.first_success_path, "local");
        const paths = found.data.submissions as Array<Record<string, unknown>>;
        assertEquals(paths.find((p) => p.path === "primary")?.result, "error");
        await waitForTip(m.relay.node, hash);
        assert((await jobSeen(m.client, (j) => prevhashHex(j) === hash)).cleanJobs);
      }

      // The primary returns on the same port: relays mine its templates again.
      await topo.primary.engine.restart();
      const primaryMiner = await connectMiner(topo.primary.engine, address);
      try {
        for (const m of miners) {
          await waitForLinkUp(m.relay.engine);
          const back = await m.relay.sink.find("relay_mode_changed", (d) => d.to === "relayed");
          assertEquals(back.data.from, "independent");
          await waitFor(
            async () =>
              (await scrapeMetrics(m.relay.engine)).get("ckpool_relay_independent_mode") === 0,
            {
              what: "relayed mode in /metrics",
            },
          );
          await topo.primary.sink.find("relay_connected", (d) => d.relay_region === m.relay.name);
        }
        // A new block on the primary reaches the relays through the link.
        const hash = await mineBlockOnTip(primaryMiner, address, nodes);
        for (const m of miners) {
          await jobSeen(m.client, (j) => prevhashHex(j) === hash);
        }
      } finally {
        await primaryMiner.client.close();
      }
    } finally {
      for (const m of miners) await m.client.close();
      await topo.close();
    }
  },
});
