/**
 * The engine mines real blocks: a Stratum client mines through it against a
 * regtest node, every block is accepted (getblockcount rises) and its
 * coinbase pays the miner's address the whole coinbasevalue and carries the
 * pool's and the miner's signatures; also with a full mempool, a bech32m
 * (P2TR) and a legacy address, and with BIP 310 version rolling.
 */

import { assert, assertEquals } from "../assert.ts";
import { startBitcoinNode } from "../../lib/harness/bitcoin_node.ts";
import { startEngine } from "../../lib/harness/engine.ts";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import {
  type AddressKind,
  asciiHex,
  blockAt,
  connectMiner,
  mineShare,
  onNewTip,
  regtestAddress,
  sats,
  submitShare,
} from "../../lib/harness/stratum_miner.ts";

/** Above regtest's network difficulty (4.66e-10): every share found is a block. */
const BLOCK_DIFFICULTY = 1e-9;

async function withEngine(
  overrides: Record<string, unknown>,
  fn: (ctx: {
    node: Awaited<ReturnType<typeof startBitcoinNode>>;
    engine: Awaited<ReturnType<typeof startEngine>>;
  }) => Promise<void>,
) {
  const node = await startBitcoinNode();
  try {
    const engine = await startEngine(node, overrides);
    try {
      await fn({ node, engine });
    } finally {
      assertEquals(await engine.stop(), 0, "engine exits 0 on SIGTERM");
    }
  } finally {
    await node.stop();
  }
}

async function mineBlocks(kind: AddressKind, blocks: number, versionRolling = false) {
  const address = regtestAddress(kind);
  const dir = await Deno.makeTempDir({ prefix: "ckpool-sigs-" });
  const sigs = `${dir}/sigs.json`;
  await Deno.writeTextFile(sigs, JSON.stringify({ [address]: "tbg-miner-sig" }));
  try {
    await withEngine({ coinbase_sigs: sigs }, async ({ node, engine }) => {
      const { client, job: first } = await connectMiner(engine, address, {
        worker: "rig1",
        versionRolling,
      });
      try {
        let job = first;
        const start = await node.rpc<number>("getblockcount");
        for (let i = 1; i <= blocks; i++) {
          const share = mineShare(client, job, {
            difficulty: BLOCK_DIFFICULTY,
            nonceStart: versionRolling ? 0x50000 : 0,
          });
          assert(share.isBlock, "at this difficulty every share is a block");
          const outcome = await submitShare(client, `${address}.rig1`, share);
          assertEquals(outcome, { result: true, error: null });
          const block = await blockAt(node, start + i);
          assertEquals(block.hash, share.hashHex, "the node's new tip is the miner's block");
          const coinbase = block.tx[0];
          assertEquals(coinbase.vout[0].scriptPubKey.address, address);
          assertEquals(sats(coinbase.vout[0].value), 50 * 1e8, "the whole coinbasevalue");
          const paid = coinbase.vout.reduce((sum, o) => sum + sats(o.value), 0);
          assertEquals(paid, sats(coinbase.vout[0].value), "no other output takes value");
          const scriptSig = coinbase.vin[0].coinbase ?? "";
          assert(scriptSig.includes(asciiHex("tbg-miner-sig")), "miner's signature");
          assert(scriptSig.includes(asciiHex("/thebitcoingame/")), "pool's signature");
          if (versionRolling) {
            assertEquals(share.versionBitsHex !== undefined, true);
            assert(block.version !== job.version, "the block carries rolled version bits");
            assertEquals((block.version & ~client.versionMask) >>> 0, job.version >>> 0);
          }
          job = await client.waitForJob(onNewTip(job));
        }
      } finally {
        await client.close();
      }
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

requires({
  name: "engine: a miner mines blocks that pay its P2WPKH address in full, with signatures",
  permissions: SERVICE_PERMISSIONS,
  fn: () => mineBlocks("p2wpkh", 3),
});

requires({
  name: "engine: mines to a bech32m (P2TR) address",
  permissions: SERVICE_PERMISSIONS,
  fn: () => mineBlocks("p2tr", 1),
});

requires({
  name: "engine: mines to a legacy (P2PKH) address",
  permissions: SERVICE_PERMISSIONS,
  fn: () => mineBlocks("p2pkh", 1),
});

requires({
  name: "engine: mines with BIP 310 version rolling",
  permissions: SERVICE_PERMISSIONS,
  fn: () => mineBlocks("p2wpkh", 2, true),
});

requires({
  name: "engine: mines a block with a full mempool, fees included in the coinbase",
  permissions: SERVICE_PERMISSIONS,
  standInOnly: "fillmempool",
  fn: () =>
    withEngine({ update_interval: 1 }, async ({ node, engine }) => {
      const address = regtestAddress("p2wpkh");
      const { client } = await connectMiner(engine, address);
      try {
        await node.rpc("fillmempool", [300]);
        // 300 transactions + the coinbase: a merkle branch of 9 hashes.
        const job = await client.waitForJob((j) => j.merkleBranch.length === 9, 15_000);
        const template = await node.rpc<{ coinbasevalue: number; transactions: unknown[] }>(
          "getblocktemplate",
          [{ rules: ["segwit"] }],
        );
        assertEquals(template.transactions.length, 300);
        const share = mineShare(client, job, { difficulty: BLOCK_DIFFICULTY });
        assertEquals(await submitShare(client, address, share), { result: true, error: null });
        const block = await blockAt(node, 1);
        assertEquals(block.hash, share.hashHex);
        assertEquals(block.tx.length, 301);
        assertEquals(block.tx[0].vout[0].scriptPubKey.address, address);
        assertEquals(sats(block.tx[0].vout[0].value), template.coinbasevalue);
        assert(template.coinbasevalue > 50 * 1e8, "fees are paid to the miner too");
      } finally {
        await client.close();
      }
    }),
});
