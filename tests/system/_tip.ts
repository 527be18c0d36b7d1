/**
 * A job on the tip every node agrees on. A block mined on a job the region's
 * engine had not yet replaced after another region's block is a side-chain
 * block: its own node keeps it, the others never hear of it. Mining only on
 * the common tip makes the first block extend the best chain everywhere.
 */

import { waitFor } from "../../lib/ports.ts";
import { prevhashHex } from "../../lib/harness/stratum_miner.ts";
import type { StratumClient } from "../../lib/stratum/client.ts";
import type { Job } from "../../lib/stratum/job.ts";
import type { RegionEndpoints } from "../../lib/harness/system.ts";
import { nodeRpc } from "./_rpc.ts";

/** Waits until every node has the same best block; returns its hash. */
export async function commonTip(nodes: readonly RegionEndpoints[]): Promise<string> {
  return await waitFor(async () => {
    const hashes = await Promise.all(nodes.map((n) => nodeRpc<string>(n, "getbestblockhash")));
    return hashes.every((h) => h === hashes[0]) && hashes[0];
  }, { timeoutMs: 30_000, what: "every node on the same tip" });
}

/** The client's first job (current or later) that builds on the nodes' common tip. */
export async function jobOnCommonTip(
  client: StratumClient,
  nodes: readonly RegionEndpoints[],
): Promise<{ tip: string; job: Job }> {
  const tip = await commonTip(nodes);
  const job = await client.waitForJob((j) => prevhashHex(j) === tip, 30_000);
  return { tip, job };
}
