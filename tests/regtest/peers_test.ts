/**
 * Several nodes sharing one chain through -addnode: relay both ways, a late
 * starter catching up, relay delay, and survivors carrying on after a peer stops.
 */
import { waitFor } from "../../lib/ports.ts";
import { type BitcoinNode, startBitcoinNode } from "../../lib/harness/bitcoin_node.ts";
import { buildBlock } from "./block_builder.ts";
import { assert, assertEquals } from "../assert.ts";
import { nextSpec, nodeTest, TEST_ADDRESS, withNodes } from "./helpers.ts";

const addr = (n: BitcoinNode): string => `127.0.0.1:${n.p2pPort}`;

function sameTip(
  nodes: BitcoinNode[],
  hash: string,
  what: string,
  timeoutMs = 20_000,
): Promise<boolean> {
  return waitFor(async () => {
    const tips = await Promise.all(nodes.map((n) => n.rpc<string>("getbestblockhash")));
    return tips.every((t) => t === hash);
  }, { what, timeoutMs });
}

/** Core tries an unconnected -addnode peer again 60 s after its last attempt. */
const ADDNODE_RETRY_MS = 60_000;

nodeTest("peered nodes converge both ways and keep working when one stops", async () => {
  await withNodes([{}], async (a) => {
    const b = await startBitcoinNode({ addnode: [addr(a)] });
    try {
      await waitFor(async () => (await a.rpc<unknown[]>("getpeerinfo")).length > 0, {
        what: "A to see B's connection",
      });
      const peers = await a.rpc<{ inbound: boolean }[]>("getpeerinfo");
      assert(peers.some((p) => p.inbound), "A lists B as an inbound peer");

      const onA = buildBlock(await nextSpec(a));
      assertEquals(await a.rpc("submitblock", [onA.hex]), null);
      await sameTip([a, b], onA.hash, "B to receive A's block");

      // B was the one that connected; A still learns of B's blocks over the same link.
      const onB = buildBlock(await nextSpec(b));
      assertEquals(await b.rpc("submitblock", [onB.hex]), null);
      await sameTip([a, b], onB.hash, "A to receive B's block");
      assertEquals(await b.rpc("submitblock", [onA.hex]), "duplicate");
    } finally {
      await b.stop();
    }
    // A keeps working alone.
    const alone = buildBlock(await nextSpec(a));
    assertEquals(await a.rpc("submitblock", [alone.hex]), null);
    assertEquals(await a.rpc("getbestblockhash"), alone.hash);
  });
});

nodeTest("a node that starts late catches up from its peer", async () => {
  await withNodes([{}], async (a) => {
    const mined = await a.rpc<string[]>("generatetoaddress", [25, TEST_ADDRESS]);
    await withNodes([{ addnode: [addr(a)] }], async (late) => {
      await sameTip([late], mined[24], "the late node to catch up");
      assertEquals(await late.rpc("getblockcount"), 25);
      assertEquals(await late.rpc("getblockhash", [10]), mined[9]);
    });
  });
});

nodeTest("a node whose addnode peer is down connects once the peer starts", async () => {
  await withNodes([{}], async (a) => {
    const b = await startBitcoinNode({ addnode: [addr(a)] });
    try {
      await a.kill();
      const onB = buildBlock(await nextSpec(b));
      assertEquals(await b.rpc("submitblock", [onB.hex]), null);
      await a.restart();
      // B keeps retrying its addnode peer, reconnects and A catches up (within a minute
      // on Core, whose retry period is ADDNODE_RETRY_MS; at once on the stand-in).
      await sameTip([a, b], onB.hash, "A to catch up after its restart", ADDNODE_RETRY_MS + 30_000);
    } finally {
      await b.stop();
    }
  });
});

nodeTest("-blockrelaydelay delays relay but the block still arrives", async () => {
  await withNodes([{ blockRelayDelayMs: 300 }], async (a) => {
    await withNodes([{ addnode: [addr(a)] }], async (b) => {
      await waitFor(async () => (await a.rpc<unknown[]>("getpeerinfo")).length > 0, {
        what: "peering",
      });
      const block = buildBlock(await nextSpec(a));
      assertEquals(await a.rpc("submitblock", [block.hex]), null);
      await sameTip([b], block.hash, "B to receive the delayed block");
    });
  });
}, "regtest-ts");

nodeTest("diverging chains longer than one getblocks batch converge to the most work", async () => {
  const dirB = await Deno.makeTempDir({ prefix: "tbg-regtest-fork-" });
  try {
    await withNodes([{}], async (a) => {
      // A: 600 blocks; B, unconnected: its own 520 from genesis (more than one 500-block
      // batch, so A's first batch is a side branch with less work than B's tip).
      const mainChain = await a.rpc<string[]>("generatetoaddress", [600, TEST_ADDRESS]);
      await withNodes([{ datadir: dirB }], async (b) => {
        const first = buildBlock({ ...await nextSpec(b), coinbaseTag: Uint8Array.of(0x00, 0xbb) });
        assertEquals(await b.rpc("submitblock", [first.hex]), null);
        await b.rpc("generatetoaddress", [519, TEST_ADDRESS]);
        assertEquals(await b.rpc("getblockcount"), 520);
      });
      await withNodes([{ datadir: dirB, addnode: [addr(a)] }], async (b) => {
        await sameTip([a, b], mainChain[599], "B to reorganise onto A's longer chain");
        assertEquals(await b.rpc("getblockcount"), 600);
      });
    });
  } finally {
    await Deno.remove(dirB, { recursive: true });
  }
});
