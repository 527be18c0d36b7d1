/**
 * submitblock against hand-built blocks (tests/regtest/block_builder.ts):
 * a correct block is accepted, and each broken variant gets Bitcoin Core's
 * exact reject string. Runs against bitcoind too when one is installed.
 */
import { buildBlock, dsha, dummyTx, hex, rawOf } from "./block_builder.ts";
import { assert, assertEquals } from "../assert.ts";
import { assertRpcError, nextSpec, nodeTest, withNodes } from "./helpers.ts";

nodeTest("submitblock accepts a hand-built block and rejects each broken variant", async (t) => {
  await withNodes([{}], async (node) => {
    const submit = (blockHex: string) => node.rpc<string | null>("submitblock", [blockHex]);
    const countBefore = await node.rpc<number>("getblockcount");

    let first = "";
    await t.step("correct block accepted", async () => {
      const block = buildBlock(await nextSpec(node));
      assertEquals(await submit(block.hex), null);
      assertEquals(await node.rpc<number>("getblockcount"), countBefore + 1);
      assertEquals(await node.rpc<string>("getbestblockhash"), block.hash);
      const shown = await node.rpc<{ height: number; tx: string[]; hash: string }>("getblock", [
        block.hash,
        1,
      ]);
      assertEquals(shown.height, countBefore + 1);
      assertEquals(shown.tx, block.txids);
      assertEquals(await node.rpc<string>("getblock", [block.hash, 0]), block.hex);
      first = block.hex;
    });

    await t.step("duplicate", async () => {
      assertEquals(await submit(first), "duplicate");
    });

    const rejects: [string, (s: Awaited<ReturnType<typeof nextSpec>>) => string][] = [
      ["high-hash", (s) => buildBlock({ ...s, pow: "invalid" }).hex],
      ["bad-diffbits", (s) => buildBlock({ ...s, bits: "207ffffe" }).hex],
      [
        "prev-blk-not-found",
        (s) => buildBlock({ ...s, prevHash: hex(dsha(Uint8Array.of(1))) }).hex,
      ],
      [
        "time-too-new",
        (s) => buildBlock({ ...s, time: Math.floor(Date.now() / 1000) + 2 * 3600 + 600 }).hex,
      ],
      ["bad-txnmrklroot", (s) => buildBlock({ ...s, merkleRoot: dsha(Uint8Array.of(2)) }).hex],
      ["bad-txns-duplicate", (s) => {
        const a = rawOf(dummyTx(1)), b = rawOf(dummyTx(2));
        return buildBlock({ ...s, txs: [a, b, b] }).hex;
      }],
      ["bad-cb-multiple", (s) => {
        const other = buildBlock({ ...s, coinbaseTag: Uint8Array.of(0x01, 0x99) }).coinbase;
        return buildBlock({ ...s, txs: [rawOf(other)] }).hex;
      }],
      ["bad-cb-height", (s) => buildBlock({ ...s, height: s.height + 1 }).hex],
      ["bad-cb-length", (s) => buildBlock({ ...s, coinbaseTag: new Uint8Array(101) }).hex],
      ["bad-cb-amount", (s) => buildBlock({ ...s, coinbaseValue: s.coinbaseValue + 1n }).hex],
      ["bad-version(0x00000003)", (s) => buildBlock({ ...s, version: 3 }).hex],
      ["bad-witness-nonce-size", (s) => {
        return buildBlock({
          ...s,
          txs: [rawOf(dummyTx(3, true))],
          coinbaseWitness: [new Uint8Array(31)],
        }).hex;
      }],
      ["bad-witness-merkle-match", (s) => {
        return buildBlock({
          ...s,
          txs: [rawOf(dummyTx(4, true))],
          commitment: dsha(Uint8Array.of(3)),
        }).hex;
      }],
      [
        "unexpected-witness",
        (s) => buildBlock({ ...s, txs: [rawOf(dummyTx(5, true))], commitment: "none" }).hex,
      ],
      ["bad-blk-weight", (s) => {
        // A small stripped size but 4 MB of witness: weight over 4,000,000 without bad-blk-length.
        return buildBlock({ ...s, txs: [rawOf(dummyTx(6, true, 4_000_000))] }).hex;
      }],
    ];
    for (const [reason, make] of rejects) {
      await t.step(reason, async () => {
        const tip = await node.rpc<string>("getbestblockhash");
        assertEquals(await submit(make(await nextSpec(node))), reason);
        assertEquals(await node.rpc<string>("getbestblockhash"), tip);
      });
    }

    await t.step("time-too-old (time equal to median time past)", async () => {
      const spec = await nextSpec(node);
      const t0 = await node.rpc<{ mintime: number }>("getblocktemplate", [{ rules: ["segwit"] }]);
      assertEquals(await submit(buildBlock({ ...spec, time: t0.mintime - 1 }).hex), "time-too-old");
    });

    // Core (v30) validates such a block instead of refusing it at decode time.
    await t.step("first transaction not a coinbase: bad-cb-missing", async () => {
      const spec = await nextSpec(node);
      const block = buildBlock({ ...spec, prepend: [rawOf(dummyTx(7))] });
      assertEquals(await submit(block.hex), "bad-cb-missing");
    });

    await t.step("undecodable: -22 Block decode failed; trailing bytes are ignored", async () => {
      await assertRpcError(submit("00"), -22, "Block decode failed");
      await assertRpcError(submit("zz"), -22, "Block decode failed");
      // Core reads one block from the hex and ignores what follows it.
      assertEquals(await submit(first + "00"), "duplicate");
    });

    await t.step(
      "commitment without coinbase witness gets the default reserved value",
      async () => {
        const block = buildBlock({ ...(await nextSpec(node)), coinbaseWitness: [] });
        assertEquals(await submit(block.hex), null);
        assertEquals(await node.rpc<string>("getbestblockhash"), block.hash);
      },
    );

    await t.step("valid block on a fork that does not become tip: inconclusive", async () => {
      const tip = await node.rpc<{ previousblockhash: string; height: number; time: number }>(
        "getblockheader",
        [await node.rpc<string>("getbestblockhash")],
      );
      const spec = await nextSpec(node);
      const sibling = buildBlock({
        ...spec,
        prevHash: tip.previousblockhash,
        height: tip.height,
        time: tip.time + 1,
        coinbaseValue: 5_000_000_000n >> BigInt(Math.floor(tip.height / 150)),
        coinbaseTag: Uint8Array.of(0x02, 0xab, 0xcd),
      });
      assertEquals(await submit(sibling.hex), "inconclusive");
      assert((await node.rpc<string>("getbestblockhash")) !== sibling.hash);
      // One more block on the fork gives it more work: the node reorganises to it.
      const child = buildBlock({
        ...spec,
        prevHash: sibling.hash,
        height: tip.height + 1,
        time: tip.time + 2,
        coinbaseValue: 5_000_000_000n >> BigInt(Math.floor((tip.height + 1) / 150)),
      });
      assertEquals(await submit(child.hex), null);
      assertEquals(await node.rpc<string>("getbestblockhash"), child.hash);
      assertEquals(await node.rpc<number>("getblockcount"), tip.height + 1);
    });
  });
});
