import { assertEquals, assertThrows } from "../assert.ts";
import { requires } from "../harness/permissions.ts";
import {
  coinbaseMerkleBranch,
  fromHex,
  hashToHex,
  reversed,
  serializeHeader,
  sha256d,
  toHex,
} from "../../lib/bitcoin/mod.ts";
import {
  foldMerkleBranch,
  prevhashFromStratum,
  prevhashToStratum,
} from "../../lib/stratum/encoding.ts";

/** Internal-order bytes of a hash written in display (RPC) hex. */
const fromDisplay = (hex: string) => reversed(fromHex(hex));

requires({
  name: "stratum hash: mainnet block 125552 header hashes to its known id",
  permissions: [],
  fn() {
    const header = serializeHeader({
      version: 1,
      prevHash: fromDisplay("00000000000008a3a41b85b8b29ad444def299fee21793cd8b9e567eab02cd81"),
      merkleRoot: fromDisplay("2b12fcf1b09288fcaff797d71e950e71ae42b91e8bdb2304758dfcffc2b620e3"),
      time: 1305998791,
      bits: 0x1a44b9f2,
      nonce: 2504433986,
    });
    assertEquals(header.length, 80);
    assertEquals(
      hashToHex(sha256d(header)),
      "00000000000000001e8d6829a8a21adc5d38d0a473b144b6765798e61f98bd1d",
    );
  },
});

requires({
  name: "stratum hash: genesis header hashes to the genesis block id",
  permissions: [],
  fn() {
    const header = serializeHeader({
      version: 1,
      prevHash: new Uint8Array(32),
      merkleRoot: fromDisplay("4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"),
      time: 1231006505,
      bits: 0x1d00ffff,
      nonce: 2083236893,
    });
    assertEquals(
      hashToHex(sha256d(header)),
      "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f",
    );
  },
});

requires({
  name: "stratum hash: merkle branch of block 100000 folds to its merkle root and header",
  permissions: [],
  fn() {
    const txids = [
      "8c14f0db3df150123e6f3dbbf30f8b955a8249b62ac1d1ff16284aefa3d06d87",
      "fff2525b8931402dd09222c50775608f75787bd2b87e56995a7bdd30f79702c4",
      "6359f0868171b1d194cbee1af2f16ea598ae8fad666d9b012c8ed2b79a236ec4",
      "e9a66845e05d5abc0ad04ec80f774a7e585c6e8db975962d069a522137b80c1d",
    ].map(fromDisplay);
    const branch = coinbaseMerkleBranch(txids.slice(1));
    assertEquals(branch.length, 2);
    const root = foldMerkleBranch(txids[0], branch);
    assertEquals(
      hashToHex(root),
      "f3e94742aca4b5ef85488dc37c06c3282295ffec960994b2c0d5ac2a25a95766",
    );
    const header = serializeHeader({
      version: 1,
      prevHash: fromDisplay("000000000002d01c1fccc21636b607dfd930d31d01c3a62104612a1719011250"),
      merkleRoot: root,
      time: 1293623863,
      bits: 0x1b04864c,
      nonce: 274148111,
    });
    assertEquals(
      hashToHex(sha256d(header)),
      "000000000003ba27aa200b1cecaad478d2b00432346c3f1f3986da1afd33e506",
    );
  },
});

requires({
  name: "stratum hash: merkle branch with an odd level duplicates the last hash",
  permissions: [],
  fn() {
    const leaves = [1, 2, 3].map((n) => sha256d(new Uint8Array([n])));
    const level1 = [
      sha256d(new Uint8Array([...leaves[0], ...leaves[1]])),
      sha256d(new Uint8Array([...leaves[2], ...leaves[2]])),
    ];
    const root = sha256d(new Uint8Array([...level1[0], ...level1[1]]));
    const branch = coinbaseMerkleBranch(leaves.slice(1));
    assertEquals(toHex(foldMerkleBranch(leaves[0], branch)), toHex(root));
    assertEquals(coinbaseMerkleBranch([]), []);
  },
});

requires({
  name: "stratum hash: prevhash Stratum format round trip and word order",
  permissions: [],
  fn() {
    const display = "00000000000008a3a41b85b8b29ad444def299fee21793cd8b9e567eab02cd81";
    const stratum = "ab02cd818b9e567ee21793cddef299feb29ad444a41b85b8000008a300000000";
    const internal = fromDisplay(display);
    assertEquals(prevhashToStratum(internal), stratum);
    assertEquals(toHex(prevhashFromStratum(stratum)), toHex(internal));
    // Display groups in reverse order give the Stratum form.
    const groups = display.match(/.{8}/g)!;
    assertEquals(groups.reverse().join(""), stratum);
    assertThrows(() => prevhashFromStratum("abcd"));
    assertThrows(() => fromHex("zz"));
  },
});
