/**
 * Stratum protocol details: the subscribe result and session resumption,
 * extranonce.subscribe, configure answers, suggest_difficulty, vardiff
 * retargeting (with the replaced difficulty still honoured briefly), and the
 * handshake and idle timeouts.
 */

import { assert, assertEquals } from "../assert.ts";
import { type BitcoinNode, startBitcoinNode } from "../../lib/harness/bitcoin_node.ts";
import { type Engine, scrapeMetrics, startEngine } from "../../lib/harness/engine.ts";
import { waitFor } from "../../lib/ports.ts";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { StratumClient } from "../../lib/stratum/client.ts";
import {
  connectMiner,
  mineShare,
  regtestAddress,
  submitShare,
} from "../../lib/harness/stratum_miner.ts";

async function withEngine(
  overrides: Record<string, unknown>,
  fn: (engine: Engine, node: BitcoinNode) => Promise<void>,
) {
  const node = await startBitcoinNode({ testbits: "1e00ffff" });
  try {
    const engine = await startEngine(node, overrides);
    try {
      await fn(engine, node);
    } finally {
      assertEquals(await engine.stop(), 0);
    }
  } finally {
    await node.stop();
  }
}

requires({
  name: "engine: subscribe, session resumption, configure and extranonce.subscribe answers",
  permissions: SERVICE_PERMISSIONS,
  standInOnly: "-testbits",
  fn: () =>
    withEngine({ nonce1length: 4, nonce2length: 6 }, async (engine) => {
      const first = await StratumClient.connect({ port: engine.stratumPort });
      const sub = await first.subscribe("cgminer/4.12");
      assertEquals(sub.extranonce1.length, 8);
      assertEquals(sub.extranonce2Size, 6);
      assertEquals(sub.subscriptions, [
        ["mining.set_difficulty", sub.extranonce1],
        ["mining.notify", sub.extranonce1],
      ]);
      const other = await StratumClient.connect({ port: engine.stratumPort });
      // A session id in use by a live connection is not handed out twice.
      const taken = await other.subscribe("x", sub.extranonce1);
      assert(taken.extranonce1 !== sub.extranonce1, "extranonce1 unique per connection");
      await other.close();
      await first.close();
      // The session is free once the engine has seen both connections close.
      await waitFor(async () => (await scrapeMetrics(engine)).get("ckpool_connections") === 0, {
        what: "the engine to release the closed connections",
      });
      const again = await StratumClient.connect({ port: engine.stratumPort });
      const resumed = await again.subscribe("cgminer/4.12", sub.extranonce1);
      assertEquals(resumed.extranonce1, sub.extranonce1);
      assertEquals(await again.extranonceSubscribe(), { result: true, error: null });
      const configured = await again.configure(["version-rolling", "minimum-difficulty"], {
        "version-rolling.mask": "00fff000",
      });
      assertEquals(configured.result, {
        "version-rolling": true,
        "version-rolling.mask": "00ffe000",
        "minimum-difficulty": false,
      });
      await again.close();
    }),
});

requires({
  name: "engine: suggest_difficulty and vardiff send set_difficulty; the old one is honoured",
  permissions: SERVICE_PERMISSIONS,
  standInOnly: "-testbits",
  fn: () =>
    withEngine({ mindiff: 1e-9, startdiff: 1e-9, vardiff_target_s: 60 }, async (engine) => {
      const address = regtestAddress();
      const { client, job } = await connectMiner(engine, address);
      try {
        assertEquals(client.currentDifficulty, 1e-9);
        // set_difficulty comes before the answer to suggest_difficulty.
        assertEquals(await client.suggestDifficulty(2e-9, true), { result: true, error: null });
        assertEquals(client.currentDifficulty, 2e-9);
        // 30 quick shares close the vardiff window: the difficulty rises.
        const shares = Array.from({ length: 31 }, () => mineShare(client, job));
        const raised = client.waitForNotification((n) =>
          n.method === "mining.set_difficulty" && Number(n.params[0]) > 2e-9
        );
        for (const share of shares.slice(0, 30)) {
          assertEquals(await submitShare(client, address, share), { result: true, error: null });
        }
        await raised;
        assert(client.currentDifficulty > 2e-9, `raised to ${client.currentDifficulty}`);
        // A share mined for the previous difficulty is still accepted right after.
        const late = shares[30];
        assertEquals(await submitShare(client, address, late), { result: true, error: null });
      } finally {
        await client.close();
      }
    }),
});

requires({
  name: "engine: handshake and idle timeouts close silent connections",
  permissions: SERVICE_PERMISSIONS,
  standInOnly: "-testbits",
  fn: () =>
    // Seconds, not less: the miner below must authorize within the
    // handshake timeout even on a busy machine.
    withEngine({ handshake_timeout_s: 3, idle_timeout_s: 4 }, async (engine) => {
      const silent = await StratumClient.connect({ port: engine.stratumPort });
      await silent.subscribe();
      const info = await silent.closed;
      assertEquals(info.by, "server");
      const { client } = await connectMiner(engine, regtestAddress());
      assertEquals((await client.closed).by, "server");
      // the log arrives through a pipe: it may trail the close the client saw
      await waitFor(() => engine.logs().includes('"reason":"idle timeout"'), {
        what: "the idle-timeout log line",
      });
    }),
});
