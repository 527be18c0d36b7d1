/** Unit tests of lib/bitcoin against published vectors and the independent test builder. */
import {
  bech32Decode,
  blockHashHex,
  decodeAddress,
  decodeBits,
  difficulty,
  encodeBits,
  fromHex,
  HeaderHasher,
  NETWORKS,
  parseBlock,
  parseTx,
  scriptNumPush,
  scriptToAddress,
  scriptToAsm,
  serializeBlock,
  serializeHeader,
  sha256d,
  toHex,
  txidHex,
} from "../../lib/bitcoin/mod.ts";
import { GENESIS_HASH, genesisBlock } from "../../stack/regtest/params.ts";
import { buildBlock, dummyTx, heightPush, hex, rawOf } from "./block_builder.ts";
import { assert, assertEquals } from "../assert.ts";

Deno.test("regtest genesis block hashes to the published regtest genesis", () => {
  const g = genesisBlock();
  assertEquals(blockHashHex(g.header), GENESIS_HASH);
  assertEquals(
    toHex(g.header.merkleRoot.slice().reverse()),
    "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b",
  );
});

Deno.test("blocks from the independent builder round-trip through parse/serialize", () => {
  const built = buildBlock({
    prevHash: GENESIS_HASH,
    height: 1,
    time: 1_700_000_000,
    bits: "207fffff",
    coinbaseValue: 5_000_000_000n,
    txs: [rawOf(dummyTx(1, true)), rawOf(dummyTx(2))],
  });
  const block = parseBlock(fromHex(built.hex));
  assertEquals(toHex(serializeBlock(block)), built.hex);
  assertEquals(blockHashHex(block.header), built.hash);
  assertEquals(block.txs.map(txidHex), built.txids);
  const tx = rawOf(dummyTx(3, true));
  assertEquals(txidHex(parseTx(tx.raw)), hex(tx.txid.slice().reverse()));
});

Deno.test("midstate header hasher equals double SHA-256", () => {
  const header = serializeHeader(genesisBlock().header);
  const hasher = new HeaderHasher(header);
  for (const nonce of [0, 2, 0x12345678, 0xffffffff]) {
    const copy = header.slice();
    new DataView(copy.buffer).setUint32(76, nonce, true);
    assertEquals(toHex(hasher.hash(nonce)), toHex(sha256d(copy)));
  }
});

Deno.test("compact bits, targets and difficulty", () => {
  assertEquals(decodeBits(0x207fffff).target, 0x7fffffn << 232n);
  assertEquals(encodeBits(0x7fffffn << 232n), 0x207fffff);
  assertEquals(encodeBits(decodeBits(0x1d00ffff).target), 0x1d00ffff);
  assertEquals(encodeBits(0x80n), 0x02008000);
  assertEquals(difficulty(0x1d00ffff), 1);
  assert(Math.abs(difficulty(0x207fffff) - 4.656542373906925e-10) < 1e-20);
  assert(decodeBits(0x04923456).negative);
});

Deno.test("BIP 34 height pushes match CScript() << height", () => {
  for (const h of [1, 16, 17, 127, 128, 255, 256, 32767, 32768, 8388608]) {
    assertEquals(toHex(scriptNumPush(h)), hex(heightPush(h)), `height ${h}`);
  }
  assertEquals(toHex(scriptNumPush(1)), "51");
  assertEquals(toHex(scriptNumPush(128)), "028000");
});

Deno.test("addresses: BIP 173 / BIP 350 vectors and base58check", () => {
  assertEquals(
    toHex(decodeAddress("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4", NETWORKS.main).scriptPubKey),
    "0014751e76e8199196d454941c45d1b3a323f1433bd6",
  );
  assertEquals(
    toHex(
      decodeAddress("tb1qrp33g0q5c5txsp9arysrx4k6zdkfs4nce4xj0gdcccefvpysxf3q0sl5k7", NETWORKS.test)
        .scriptPubKey,
    ),
    "00201863143c14c5166804bd19203356da136c985678cd4d27a1b8c6329604903262",
  );
  assertEquals(
    toHex(
      decodeAddress(
        "bc1p0xlxvlhemja6c4dqv22uapctqupfhlxm9h8z3k2e72q4k9hcz7vqzk5jj0",
        NETWORKS.main,
      ).scriptPubKey,
    ),
    "512079be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798",
  );
  assertEquals(bech32Decode("A12UEL5L").encoding, "bech32");
  assertEquals(bech32Decode("A1LQFN3A").encoding, "bech32m");
  const p2pkh = decodeAddress("1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2", NETWORKS.main).scriptPubKey;
  assertEquals(scriptToAddress(p2pkh, NETWORKS.main), "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN2");
  assertEquals(
    scriptToAddress(fromHex("0014751e76e8199196d454941c45d1b3a323f1433bd6")),
    "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080",
  );
  for (
    const bad of [
      "bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t5",
      "1BvBMSEYstWetqTFn5Au4m4GFg7xJaNVN3",
    ]
  ) {
    let threw = false;
    try {
      decodeAddress(bad, NETWORKS.main);
    } catch {
      threw = true;
    }
    assert(threw, bad);
  }
});

Deno.test("script ASM as bitcoind prints it", () => {
  assertEquals(
    scriptToAsm(fromHex("76a914243f1394f44554f4ce3fd68649c19adc483ce92488ac")),
    "OP_DUP OP_HASH160 243f1394f44554f4ce3fd68649c19adc483ce924 OP_EQUALVERIFY OP_CHECKSIG",
  );
  assertEquals(
    scriptToAsm(fromHex("0014751e76e8199196d454941c45d1b3a323f1433bd6")),
    "0 751e76e8199196d454941c45d1b3a323f1433bd6",
  );
  assertEquals(scriptToAsm(fromHex("5400")), "4 0");
  assertEquals(scriptToAsm(fromHex("03a08601")), "100000");
});
