/**
 * Template sync on the whole topology of `deno task up`, twice on one stack:
 *
 * 1. Empty mempool: a new block on the eu node (`generatetoaddress`); miners
 *    on eu and on every relay receive a `mining.notify` with clean_jobs on
 *    the new previous block, the relays' with the same merkle branch and bits
 *    as eu's; the relay notify comes after eu's (the template crossed the
 *    bridge).
 * 2. Non-empty mempool, so the merkle branch is real: eu's node holds spends
 *    of mature OP_TRUE coinbases (real transactions, accepted by the stand-in
 *    node and by bitcoind alike); eu's miner finds a block on a job from
 *    before they arrived, so the block leaves them in the mempool; the next
 *    template carries them, and every relay serves the same previous block
 *    and the same (non-empty) merkle branch as eu, whose first hash is one of
 *    those transactions.
 *
 * Prints propagation per relay: the engine's own figure and the notify gap
 * the miners saw.
 */

import assert from "node:assert/strict";
import { waitFor } from "../../stack/lib/ports.ts";
import { mineShare, submitShare } from "../engine/miner.ts";
import { StratumClient } from "../stratum/client.ts";
import { toHex } from "../stratum/hash.ts";
import type { Job } from "../stratum/job.ts";
import { matureOpTrueCoinbases, spendIntoMempool } from "./_mempool.ts";
import { metric } from "./_metrics.ts";
import { nodeRpc } from "./_rpc.ts";
import { startSystem, systemTest } from "./_target.ts";
import { REGION_NAMES, type RegionEndpoints, type RegionName, RELAY_NAMES } from "./_system.ts";

const ADDRESS = "bcrt1qw33xwttyv4kk7ttdd9hx2u3dv9jxgu3p3snjgx";
const WORKER = `${ADDRESS}.sync`;
/** Above regtest's network difficulty (~4.7e-10): a share at it is a block. */
const BLOCK_DIFFICULTY = 1e-9;
/** Transactions put in eu's mempool: with the coinbase, 4 leaves, a 2-hash branch. */
const MEMPOOL_TXS = 3;

/** Display-order hex of a hash given in internal byte order. */
function displayHex(internal: Uint8Array): string {
  return toHex(internal.slice().reverse());
}

type Seen = Record<RegionName, { job: Job; at: number }>;

/** Every region's first job that matches, and when its miner saw it. */
async function jobsEverywhere(
  clients: Record<RegionName, StratumClient>,
  match: (job: Job) => boolean,
): Promise<Seen> {
  const seen = {} as Seen;
  await Promise.all(REGION_NAMES.map(async (name) => {
    const job = await clients[name].waitForJob(match, 30_000);
    seen[name] = { job, at: performance.now() };
  }));
  return seen;
}

/**
 * Every relay serves eu's template: same previous block, merkle branch, bits
 * and version; it arrived after eu's, at least the link's one-way delay late
 * by the engine's own measure. Returns the figures.
 */
async function assertSameTemplate(
  regions: Record<RegionName, RegionEndpoints>,
  seen: Seen,
  since: number,
): Promise<string[]> {
  const eu = seen.eu.job;
  const lines: string[] = [];
  for (const name of RELAY_NAMES) {
    const { job, at } = seen[name];
    assert.equal(displayHex(job.prevhash), displayHex(eu.prevhash), `${name} prevhash`);
    assert.deepEqual(job.merkleBranch.map(toHex), eu.merkleBranch.map(toHex), `${name} branch`);
    assert.equal(job.bits, eu.bits, `${name} bits`);
    assert.equal(job.version & 0x1fffe000, eu.version & 0x1fffe000, `${name} version`);
    assert.ok(at > seen.eu.at, `${name}'s notify came after eu's`);
    const engine = await metric(regions[name].metricsUrl, "ckpool_relay_template_latency_ms");
    const r = regions[name];
    assert.ok(engine !== null && engine >= r.latencyMs - r.jitterMs, `${name}: ${engine} ms`);
    lines.push(
      `eu -> ${name}: engine-reported propagation ${engine?.toFixed(1)} ms; notify ` +
        `${(at - since).toFixed(1)} ms after the block (eu's ${
          (seen.eu.at - since).toFixed(1)
        } ms)`,
    );
  }
  return lines;
}

systemTest(
  "system template sync: a new eu block reaches every relay's miners, same template " +
    "(empty and non-empty mempool)",
  async () => {
    const stack = await startSystem({ label: "sync" });
    const clients = {} as Record<RegionName, StratumClient>;
    try {
      const { regions } = stack.endpoints;
      for (const name of REGION_NAMES) {
        const client = await StratumClient.connect(regions[name].stratum);
        clients[name] = client;
        await client.subscribe("system-sync/1.0");
        assert.equal((await client.authorize(WORKER)).result, true);
        await client.suggestDifficulty(BLOCK_DIFFICULTY);
        await client.nextNotify();
      }

      // 1. Empty mempool: generatetoaddress on eu.
      const [hash] = await nodeRpc<string[]>(regions.eu, "generatetoaddress", [1, ADDRESS]);
      const minedAt = performance.now();
      const first = await jobsEverywhere(
        clients,
        (j) => displayHex(j.prevhash) === hash && j.cleanJobs,
      );
      const lines = [`empty mempool: new block ${hash.slice(0, 16)}... on eu`];
      lines.push(...await assertSameTemplate(regions, first, minedAt));

      // 2. Non-empty mempool: spends wait in eu's node while a block that leaves them is found.
      const coinbases = await matureOpTrueCoinbases(regions.eu, MEMPOOL_TXS, ADDRESS);
      const tip = await nodeRpc<string>(regions.eu, "getbestblockhash");
      // A job from before the spends: its block confirms none of them.
      const before = await clients.eu.waitForJob(
        (j) => displayHex(j.prevhash) === tip && j.merkleBranch.length === 0,
        30_000,
      );
      const txids = await spendIntoMempool(regions.eu, coinbases);
      const share = mineShare(clients.eu, before, { difficulty: BLOCK_DIFFICULTY });
      assert.ok(share.isBlock, "a share at 1e-9 is a regtest block");
      assert.deepEqual(await submitShare(clients.eu, WORKER, share), { result: true, error: null });
      const foundAt = performance.now();
      await waitFor(
        async () => (await nodeRpc<string>(regions.eu, "getbestblockhash")) === share.hashHex,
        { timeoutMs: 30_000, what: "eu's node to take the block" },
      );
      const block = await nodeRpc<{ tx: string[] }>(regions.eu, "getblock", [share.hashHex, 1]);
      assert.equal(block.tx.length, 1, "the block confirmed no mempool transaction");
      const mempool = await nodeRpc<string[]>(regions.eu, "getrawmempool");
      assert.deepEqual([...mempool].sort(), [...txids].sort(), "the spends still wait");

      const second = await jobsEverywhere(
        clients,
        (j) => displayHex(j.prevhash) === share.hashHex && j.merkleBranch.length > 0,
      );
      const branch = second.eu.job.merkleBranch;
      assert.equal(branch.length, Math.ceil(Math.log2(MEMPOOL_TXS + 1)), "eu's merkle branch");
      assert.ok(txids.includes(displayHex(branch[0])), "branch starts with a mempool txid");
      lines.push(
        `mempool of ${txids.length}: block ${share.hashHex.slice(0, 16)}... on eu, ` +
          `branch of ${branch.length} (${displayHex(branch[0]).slice(0, 16)}..., ...)`,
      );
      lines.push(...await assertSameTemplate(regions, second, foundAt));
      console.log(lines.join("\n"));
    } finally {
      for (const client of Object.values(clients)) await client.close().catch(() => {});
      await stack.close();
    }
  },
);
