/**
 * The relay topology on a private OP_TRUE signet (-signet
 * -signetchallenge=51), as `TBG_CHAIN=signet deno task up` runs it: every
 * node reports chain "signet", the engines get templates (which on signet
 * needs the "signet" rule), and a block found in each region, eu and both
 * relays, is accepted by every node, pays its tb1 miner and is reported
 * with its region. Blocks are at signet's real minimum difficulty, mined
 * with the midstate miner (_block_miner.ts). Needs --unstable-net.
 */

import { assertEquals } from "../assert.ts";
import { encodeSegwitAddress, NETWORKS } from "../../lib/bitcoin/address.ts";
import { type RequiredTest, requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import {
  blockAt,
  connectMiner,
  prevhashHex,
  sats,
  submitShare,
} from "../../lib/harness/stratum_miner.ts";
import { mineBlock } from "./_block_miner.ts";
import { jobSeen, startTopology, waitForHeight } from "./_topology.ts";

const relayTest = (test: RequiredTest) => requires({ ...test, unstableNet: true });

function signetAddress(): string {
  return encodeSegwitAddress(NETWORKS.signet.hrp, 0, crypto.getRandomValues(new Uint8Array(20)));
}

relayTest({
  name: "relay on signet: a block found in each region is accepted by every node",
  permissions: SERVICE_PERMISSIONS,
  fn: async () => {
    const topo = await startTopology({ chain: "signet" });
    const regions = [topo.primary, ...topo.relays];
    const nodes = regions.map((r) => r.node);
    const clients = [];
    try {
      for (const node of nodes) {
        const info = await node.rpc<{ chain: string }>("getblockchaininfo");
        assertEquals(info.chain, "signet");
      }
      for (const region of regions) {
        const tip = await topo.primary.node.rpc<string>("getbestblockhash");
        const height = await topo.primary.node.rpc<number>("getblockcount");
        const address = signetAddress();
        const { client } = await connectMiner(region.engine, address, { worker: region.name });
        clients.push(client);
        const job = await jobSeen(client, (j) => prevhashHex(j) === tip, 30_000);
        const { share, hashes, seconds } = mineBlock(client, job);
        console.log(`${region.name}: block after ${hashes} headers, ${seconds.toFixed(1)} s`);
        assertEquals(await submitShare(client, `${address}.${region.name}`, share), {
          result: true,
          error: null,
        });
        await waitForHeight(nodes, height + 1);
        for (const node of nodes) {
          const block = await blockAt(node, height + 1);
          assertEquals(block.hash, share.hashHex, `${region.name}'s block on every node`);
          assertEquals(block.tx[0].vout[0].scriptPubKey.address, address, "pays the miner");
          assertEquals(sats(block.tx[0].vout[0].value), 50 * 1e8);
        }
        const found = await region.sink.find("block_found", (d) => d.hash === share.hashHex);
        assertEquals(found.region, region.name);
        assertEquals(found.data.accepted, true);
      }
    } finally {
      for (const client of clients) await client.close();
      await topo.close();
    }
  },
});
