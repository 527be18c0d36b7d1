/**
 * Template sync on the whole topology of `deno task up`, twice on one stack:
 *
 * 1. Empty mempool: a new block on the eu node (`generatetoaddress`); miners
 *    on eu and on every relay receive a `mining.notify` with clean_jobs on
 *    the new previous block, and every relay serves eu's template (same
 *    merkle branch, bits, version). A relay's first clean notify may come
 *    from its own node, which heard of the block by P2P and can beat the
 *    primary's template; what is asserted is that eu's template reaches it.
 * 2. Non-empty mempool, so the merkle branch is real: eu's node holds spends
 *    of mature OP_TRUE coinbases (real transactions, accepted by the stand-in
 *    node and by bitcoind alike); eu's miner finds a block on a job from
 *    before they arrived, so the block leaves them in the mempool; the next
 *    template carries them, and every relay serves the same previous block
 *    and the same (non-empty) merkle branch as eu, whose first hash is one of
 *    those transactions.
 *
 * Prints propagation per relay: the engine's own figure and the notify gap
 * the miners saw (each notify timed as it arrived).
 */

import assert from "node:assert/strict";
import { waitFor } from "../../lib/ports.ts";
import { mineShare, submitShare } from "../../lib/harness/stratum_miner.ts";
import { StratumClient } from "../../lib/stratum/client.ts";
import { toHex } from "../../lib/bitcoin/mod.ts";
import { type Job, parseNotify } from "../../lib/stratum/job.ts";
import { matureOpTrueCoinbases, spendIntoMempool } from "./_mempool.ts";
import { metric, propagationFloorMs } from "../../lib/harness/metrics.ts";
import { nodeRpc } from "./_rpc.ts";
import { startSystem, systemTest } from "./_target.ts";
import {
  REGION_NAMES,
  type RegionEndpoints,
  type RegionName,
  RELAY_NAMES,
} from "../../lib/harness/system.ts";

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

/** Every `mining.notify` a client received, with the moment it arrived. */
class NotifyLog {
  readonly entries: Array<{ job: Job; at: number }> = [];

  constructor(client: StratumClient) {
    client.onNotification((n) => {
      if (n.method === "mining.notify") {
        this.entries.push({ job: parseNotify(n.params), at: performance.now() });
      }
    });
  }

  /** The first job received that matches, waiting for it if needed. */
  first(match: (job: Job) => boolean, what: string) {
    return waitFor(() => this.entries.find((e) => match(e.job)), { timeoutMs: 30_000, what });
  }
}

type Seen = { job: Job; at: number };

/**
 * Waits until eu's miner has a job on `prevhash` that `euMatch` accepts, then
 * until every relay's miner has one with eu's merkle branch, bits and version
 * on the same previous block: every relay serves eu's template. The engine's
 * own propagation figure is at least the link's one-way delay (less 3 jitter deviations).
 * Returns the figures: when each miner got its job, counted from `since`.
 */
async function assertRelaysServeEuTemplate(
  regions: Record<RegionName, RegionEndpoints>,
  logs: Record<RegionName, NotifyLog>,
  prevhash: string,
  euMatch: (job: Job) => boolean,
  since: number,
): Promise<{ eu: Job; lines: string[] }> {
  const onTip = (j: Job) => displayHex(j.prevhash) === prevhash;
  const eu = await logs.eu.first((j) => onTip(j) && euMatch(j), "eu's miner to get the job");
  const sameTemplate = (j: Job) =>
    onTip(j) && j.bits === eu.job.bits &&
    (j.version & 0x1fffe000) === (eu.job.version & 0x1fffe000) &&
    j.merkleBranch.length === eu.job.merkleBranch.length &&
    j.merkleBranch.every((h, i) => toHex(h) === toHex(eu.job.merkleBranch[i]));
  const lines: string[] = [];
  const relays: Record<string, Seen> = {};
  await Promise.all(RELAY_NAMES.map(async (name) => {
    relays[name] = await logs[name].first(sameTemplate, `${name}'s miner to get eu's template`);
  }));
  for (const name of RELAY_NAMES) {
    const r = regions[name];
    const clean = logs[name].entries.find((e) => onTip(e.job) && e.job.cleanJobs);
    assert.ok(clean, `${name}'s miners got a clean_jobs notify on the new block`);
    const seconds = await metric(r.metricsUrl, "ckpool_relay_last_template_latency_seconds");
    const engine = seconds === null ? null : seconds * 1000;
    assert.ok(engine !== null && engine >= propagationFloorMs(r), `${name}: ${engine} ms`);
    lines.push(
      `eu -> ${name}: engine-reported propagation ${engine?.toFixed(1)} ms; eu's template ` +
        `at its miner ${(relays[name].at - since).toFixed(1)} ms after the block ` +
        `(first clean notify ${(clean.at - since).toFixed(1)} ms; eu's miner ` +
        `${(eu.at - since).toFixed(1)} ms)`,
    );
  }
  return { eu: eu.job, lines };
}

systemTest(
  "system template sync: a new eu block reaches every relay's miners, same template " +
    "(empty and non-empty mempool)",
  async () => {
    const stack = await startSystem({ label: "sync" });
    const clients = {} as Record<RegionName, StratumClient>;
    const logs = {} as Record<RegionName, NotifyLog>;
    try {
      const { regions } = stack.endpoints;
      for (const name of REGION_NAMES) {
        const client = await StratumClient.connect(regions[name].stratum);
        clients[name] = client;
        logs[name] = new NotifyLog(client);
        await client.subscribe("system-sync/1.0");
        assert.equal((await client.authorize(WORKER)).result, true);
        await client.suggestDifficulty(BLOCK_DIFFICULTY);
        await client.nextNotify();
      }

      // 1. Empty mempool: generatetoaddress on eu.
      const [hash] = await nodeRpc<string[]>(regions.eu, "generatetoaddress", [1, ADDRESS]);
      const minedAt = performance.now();
      const first = await assertRelaysServeEuTemplate(
        regions,
        logs,
        hash,
        (j) => j.cleanJobs,
        minedAt,
      );
      const lines = [`empty mempool: new block ${hash.slice(0, 16)}... on eu`, ...first.lines];

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

      const second = await assertRelaysServeEuTemplate(
        regions,
        logs,
        share.hashHex,
        (j) => j.merkleBranch.length > 0,
        foundAt,
      );
      const branch = second.eu.merkleBranch;
      assert.equal(branch.length, Math.ceil(Math.log2(MEMPOOL_TXS + 1)), "eu's merkle branch");
      assert.ok(txids.includes(displayHex(branch[0])), "branch starts with a mempool txid");
      lines.push(
        `mempool of ${txids.length}: block ${share.hashHex.slice(0, 16)}... on eu, ` +
          `branch of ${branch.length} (${displayHex(branch[0]).slice(0, 16)}..., ...)`,
      );
      lines.push(...second.lines);
      console.log(lines.join("\n"));
    } finally {
      for (const client of Object.values(clients)) await client.close().catch(() => {});
      await stack.close();
    }
  },
);
