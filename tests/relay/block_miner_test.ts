/**
 * The test block miner (_block_miner.ts): the blocks it finds for a synthetic
 * job at signet's minimum difficulty really meet the target (checked by hashing the header
 * the share describes, independently of the miner). Prints its hash rate.
 */

import assert from "node:assert/strict";
import { mineBlock } from "./_block_miner.ts";
import { fromHex, sha256d, targetFromBits } from "../../lib/bitcoin/mod.ts";
import { headerFor, type Job } from "../../lib/stratum/job.ts";

const SIGNET_BITS = 0x1e0377ae;

function syntheticJob(bits: number): Job {
  const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
  return {
    jobId: "1",
    prevhash: random(32),
    coinb1: random(40),
    coinb2: random(30),
    merkleBranch: [random(32), random(32)],
    version: 0x20000000,
    bits,
    ntime: 1_700_000_000,
    cleanJobs: true,
    raw: [],
  };
}

Deno.test("block miner: finds a real block at signet's minimum difficulty", () => {
  const job = syntheticJob(SIGNET_BITS);
  const client = { extranonce1: "a1b2c3d4", extranonce2Size: 4, currentDifficulty: 1e-5 };
  const { share, hashes, seconds } = mineBlock(client, job);
  // Rebuild the header from the share's fields alone and hash it.
  const header = headerFor(job, {
    extranonce1: fromHex(client.extranonce1),
    extranonce2: fromHex(share.extranonce2Hex),
    ntime: parseInt(share.ntimeHex, 16),
    nonce: parseInt(share.nonceHex, 16),
    version: job.version,
  });
  const digest = sha256d(header);
  let value = 0n;
  for (let i = 31; i >= 0; i--) value = (value << 8n) | BigInt(digest[i]);
  assert.ok(value <= targetFromBits(SIGNET_BITS), "the header meets the signet target");
  assert.equal(share.isBlock, true);
  console.log(
    `block miner: ${hashes} headers in ${seconds.toFixed(1)} s ` +
      `(${(hashes / seconds / 1000).toFixed(0)} kH/s)`,
  );
});
