/**
 * Every way the engine refuses a share or a miner, observed from a real
 * Stratum client: 25 not subscribed, 24 unauthorized (and a refused payout
 * address), 21 job not found, 21 stale, 22 duplicate, 23 low difficulty and
 * 20 for bad ntime, bad version bits, a wrong extranonce2 size and malformed
 * parameters. The node's -testbits makes blocks rare, so shares are shares.
 */

import { assert, assertEquals } from "../assert.ts";
import { type BitcoinNode, startBitcoinNode } from "../../lib/harness/bitcoin_node.ts";
import { type Engine, startEngine } from "../../lib/harness/engine.ts";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { StratumClient } from "../../lib/stratum/client.ts";
import { u32Hex } from "../../lib/stratum/encoding.ts";
import { targetFromDifficulty } from "../../lib/bitcoin/mod.ts";
import type { Job } from "../../lib/stratum/job.ts";
import {
  connectMiner,
  mineShare,
  onNewTip,
  regtestAddress,
  submitShare,
} from "../../lib/harness/stratum_miner.ts";

/** Network target 0xffff << 224: one hash in 2^16 is a block (one share in 16). */
const HARD_BITS = "1f00ffff";
/** One hash in ~4,000 is a share. */
const SHARE_DIFF = 1e-6;

async function withHardEngine(fn: (node: BitcoinNode, engine: Engine) => Promise<void>) {
  const node = await startBitcoinNode({ testbits: HARD_BITS });
  try {
    const engine = await startEngine(node, { mindiff: SHARE_DIFF, startdiff: SHARE_DIFF });
    try {
      await fn(node, engine);
    } finally {
      assertEquals(await engine.stop(), 0);
    }
  } finally {
    await node.stop();
  }
}

/** A valid share that is not a block. */
function plainShare(client: StratumClient, job: Job) {
  for (let attempt = 0; attempt < 20; attempt++) {
    const share = mineShare(client, job, { nonceStart: attempt * 1_000_000 });
    if (!share.isBlock) return share;
  }
  throw new Error("every share was a block");
}

requires({
  name: "engine: rejects shares for every reason with the right Stratum code",
  permissions: SERVICE_PERMISSIONS,
  standInOnly: "-testbits",
  fn: () =>
    withHardEngine(async (node, engine) => {
      const address = regtestAddress();
      const port = engine.stratumPort;

      // 25: submit before subscribing.
      const fresh = await StratumClient.connect({ port });
      const early = await fresh.submit(address, "0000000000000001", "00", "00", "00");
      assertEquals(early.error?.code, 25);
      // 24: subscribed but not authorized.
      await fresh.subscribe();
      const unauthorized = await fresh.submit(
        address,
        "0000000000000001",
        "0000000000000000",
        "00000000",
        "00000000",
      );
      assertEquals(unauthorized.error?.code, 24);
      // 24: payout addresses that are not this node's network, or not addresses.
      for (const user of ["bc1qar0srrr7xfkvy5l643lydnw9re59gtzzwf5mdq", "not-an-address.w"]) {
        const auth = await fresh.authorize(user);
        assertEquals(auth.result, false);
        assertEquals(auth.error?.code, 24);
        assert(auth.error?.message.includes("invalid payout address"), auth.error?.message);
      }
      await fresh.close();

      const { client, job } = await connectMiner(engine, address, { worker: "w" });
      try {
        const worker = `${address}.w`;
        assertEquals(client.currentDifficulty, SHARE_DIFF);
        const share = plainShare(client, job);

        // Malformed parameters: 20.
        const malformed = await client.call("mining.submit", [worker, share.jobId, 42]);
        assertEquals(malformed.error?.code, 20);
        // 21: a job that never existed.
        const unknown = await client.submit(
          worker,
          "00000000deadbeef",
          share.extranonce2Hex,
          share.ntimeHex,
          share.nonceHex,
        );
        assertEquals(unknown.error, { code: 21, message: "Job not found" });
        // 20: extranonce2 of the wrong size.
        const shortEn2 = await client.submit(
          worker,
          share.jobId,
          "00",
          share.ntimeHex,
          share.nonceHex,
        );
        assertEquals(shortEn2.error, { code: 20, message: "Invalid extranonce2 size" });
        // 20: ntime beyond two hours after the template's time.
        const late = await client.submit(
          worker,
          share.jobId,
          share.extranonce2Hex,
          u32Hex(job.ntime + 7300),
          share.nonceHex,
        );
        assertEquals(late.error, { code: 20, message: "Invalid ntime" });
        // 20: version bits without negotiated version rolling.
        const rolled = await client.submit(
          worker,
          share.jobId,
          share.extranonce2Hex,
          share.ntimeHex,
          share.nonceHex,
          "00002000",
        );
        assertEquals(rolled.error, { code: 20, message: "Invalid version bits" });
        // 23: a hash above the share target.
        const weak = mineShare(client, job, { difficulty: 1e-12, nonceStart: 7 });
        assert(weak.hash > targetFromDifficulty(SHARE_DIFF), "picked a weak hash");
        const low = await submitShare(client, worker, weak);
        assertEquals(low.error, { code: 23, message: "Low difficulty share" });
        // Accepted once, then 22.
        assertEquals(await submitShare(client, worker, share), { result: true, error: null });
        const again = await submitShare(client, worker, share);
        assertEquals(again.error, { code: 22, message: "Duplicate share" });

        // 21 stale: the network moves on, the old job's shares are refused.
        const pending = plainShare(client, job);
        await node.rpc("generatetoaddress", [1, regtestAddress()]);
        await client.waitForJob(onNewTip(job));
        const stale = await submitShare(client, worker, pending);
        assertEquals(stale.error, { code: 21, message: "Stale job" });
      } finally {
        await client.close();
      }
    }),
});

requires({
  name: "engine: version bits outside the negotiated mask are refused",
  permissions: SERVICE_PERMISSIONS,
  standInOnly: "-testbits",
  fn: () =>
    withHardEngine(async (_node, engine) => {
      const address = regtestAddress();
      const { client, job } = await connectMiner(engine, address, { versionRolling: true });
      try {
        assertEquals(client.versionMask, 0x1fffe000);
        const share = plainShare(client, job);
        const outside = await client.submit(
          address,
          share.jobId,
          share.extranonce2Hex,
          share.ntimeHex,
          share.nonceHex,
          "00000001",
        );
        assertEquals(outside.error, { code: 20, message: "Invalid version bits" });
        const inside = mineShare(client, job, { nonceStart: 0x70000 });
        assert(inside.versionBitsHex !== "00000000", "the share rolled version bits");
        assertEquals(await submitShare(client, address, inside), { result: true, error: null });
      } finally {
        await client.close();
      }
    }),
});
