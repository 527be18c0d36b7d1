/**
 * getblocktemplate: the BIP 22 shape, the segwit-rule error, templates that
 * carry fillmempool transactions (mined by hand with their witness
 * commitment), and -testbits.
 */
import { buildBlock, dsha, flip, hex, join, merkle, templateTxs, unhex } from "./block_builder.ts";
import { assert, assertEquals } from "../assert.ts";
import {
  assertRpcError,
  getTemplate,
  nextSpec,
  nodeTest,
  TEST_ADDRESS,
  withNodes,
} from "./helpers.ts";

const SEGWIT_ERROR =
  'getblocktemplate must be called with the segwit rule set (call with {"rules": ["segwit"]})';

nodeTest("getblocktemplate has the BIP 22 shape and requires the segwit rule", async () => {
  await withNodes([{}], async (node) => {
    // No argument at all: a missing required argument (-1, whose text is Core's usage line).
    await assertRpcError(node.rpc("getblocktemplate", []), -1);
    await assertRpcError(node.rpc("getblocktemplate", [{}]), -8, SEGWIT_ERROR);
    await assertRpcError(node.rpc("getblocktemplate", [{ rules: [] }]), -8, SEGWIT_ERROR);
    const t = await getTemplate(node);
    const info = await node.rpc<{ blocks: number; bestblockhash: string }>("getblockchaininfo");
    for (
      const key of [
        "version",
        "rules",
        "vbavailable",
        "vbrequired",
        "previousblockhash",
        "transactions",
        "coinbaseaux",
        "coinbasevalue",
        "longpollid",
        "target",
        "mintime",
        "mutable",
        "noncerange",
        "sigoplimit",
        "sizelimit",
        "weightlimit",
        "curtime",
        "bits",
        "height",
        "default_witness_commitment",
      ]
    ) {
      assert(key in t, `template lacks ${key}`);
    }
    assertEquals(t.previousblockhash, info.bestblockhash);
    assertEquals(t.height, info.blocks + 1);
    assertEquals(t.bits, "207fffff");
    assertEquals(t.target, "7fffff" + "0".repeat(58));
    assertEquals(t.coinbasevalue, 5_000_000_000);
    assertEquals(t.noncerange, "00000000ffffffff");
    assertEquals(t.weightlimit, 4_000_000);
    assert((t.rules as string[]).includes("!segwit"));
    assert(t.curtime >= t.mintime);
    // With no transactions the commitment covers only the coinbase's zero wtxid.
    const root = merkle([new Uint8Array(32)]);
    assertEquals(
      t.default_witness_commitment,
      "6a24aa21a9ed" + hex(dsha(join(root, new Uint8Array(32)))),
    );
  });
});

nodeTest(
  "fillmempool transactions reach the template and a hand-mined block with them",
  async () => {
    await withNodes([{}], async (node) => {
      // Mature nothing is needed: this node keeps no UTXO set (docs/regtest-node.md).
      await node.rpc("generatetoaddress", [1, TEST_ADDRESS]);
      const ids = await node.rpc<string[]>("fillmempool", [12]);
      assertEquals(ids.length, 12);
      assertEquals((await node.rpc<string[]>("getrawmempool")).sort(), [...ids].sort());

      const t = await getTemplate(node);
      assertEquals(t.transactions.length, 12);
      const fees = t.transactions.reduce((n, tx) => n + tx.fee, 0);
      assertEquals(t.coinbasevalue, 5_000_000_000 + fees);
      assert(
        t.transactions.some((tx) => tx.depends.length > 0),
        "some transaction depends on another",
      );
      for (const [i, tx] of t.transactions.entries()) {
        for (const d of tx.depends) {
          assert(d >= 1 && d <= i, "depends point at earlier transactions");
        }
        assert(tx.weight > 0 && tx.sigops >= 0);
      }
      const txs = templateTxs(t.transactions);
      assert(
        txs.some((tx) => hex(tx.txid) !== hex(tx.wtxid)),
        "templates carry witness data",
      );
      // Our own witness commitment must equal the template's default one.
      const witnessRoot = merkle([new Uint8Array(32), ...txs.map((x) => x.wtxid)]);
      assertEquals(
        t.default_witness_commitment,
        "6a24aa21a9ed" + hex(dsha(join(witnessRoot, new Uint8Array(32)))),
      );

      const spec = await nextSpec(node);
      const greedy = buildBlock({ ...spec, txs, coinbaseValue: BigInt(t.coinbasevalue) + 1n });
      assertEquals(await node.rpc("submitblock", [greedy.hex]), "bad-cb-amount");

      const block = buildBlock({ ...spec, txs, coinbaseValue: BigInt(t.coinbasevalue) });
      assertEquals(await node.rpc("submitblock", [block.hex]), null);
      assertEquals(await node.rpc<string>("getbestblockhash"), block.hash);
      assertEquals(await node.rpc<string[]>("getrawmempool"), []);
      const shown = await node.rpc<{ tx: { txid: string; vin: { coinbase?: string }[] }[] }>(
        "getblock",
        [block.hash, 2],
      );
      assertEquals(shown.tx.length, 13);
      assertEquals(shown.tx.map((x) => x.txid), block.txids);
      assert(typeof shown.tx[0].vin[0].coinbase === "string");
      const next = await getTemplate(node);
      assertEquals(next.transactions, []);
      assertEquals(hex(flip(unhex(next.previousblockhash))), hex(flip(unhex(block.hash))));
    });
  },
  "regtest-ts",
);

nodeTest("-testbits makes templates and submitblock use harder bits", async () => {
  // 1f00ffff keeps the test fast (about 65,000 hashes); docs use 1e0fffff for load tests.
  await withNodes([{ testbits: "1f00ffff" }], async (node) => {
    const t = await getTemplate(node);
    assertEquals(t.bits, "1f00ffff");
    assertEquals(t.target, "0000ffff" + "0".repeat(56));
    const spec = await nextSpec(node);
    // A share at regtest difficulty that misses the test target is not a block.
    const share = buildBlock({ ...spec, bits: "207fffff" });
    assertEquals(await node.rpc("submitblock", [share.hex]), "bad-diffbits");
    const weak = buildBlock({ ...spec, pow: "invalid" });
    assertEquals(await node.rpc("submitblock", [weak.hex]), "high-hash");
    const block = buildBlock(spec);
    assertEquals(await node.rpc("submitblock", [block.hex]), null);
    const mined = await node.rpc<string[]>("generatetoaddress", [1, TEST_ADDRESS, 50_000_000]);
    assertEquals(mined.length, 1);
    const header = await node.rpc<{ bits: string; height: number }>("getblockheader", [mined[0]]);
    assertEquals(header.bits, "1f00ffff");
    assertEquals(header.height, 2);
  });
}, "regtest-ts");
