/**
 * Blocks: 80-byte headers, full block (de)serialization, merkle roots with
 * Bitcoin Core's CVE-2012-2459 mutation detection, and the BIP 141 witness
 * commitment.
 */
import { concat, equalBytes, Reader, Writer } from "./bytes.ts";
import { hashToHex, sha256d } from "./hash.ts";
import { readTx, type Tx, txid, writeTx, wtxid } from "./tx.ts";

export interface BlockHeader {
  version: number;
  /** Internal byte order. */
  prevHash: Uint8Array;
  /** Internal byte order. */
  merkleRoot: Uint8Array;
  time: number;
  bits: number;
  nonce: number;
}

export interface Block {
  header: BlockHeader;
  txs: Tx[];
}

export function serializeHeader(h: BlockHeader): Uint8Array {
  return new Writer().i32(h.version).bytes(h.prevHash).bytes(h.merkleRoot).u32(h.time).u32(h.bits)
    .u32(h.nonce).finish();
}

export function readHeader(r: Reader): BlockHeader {
  return {
    version: r.i32(),
    prevHash: r.bytes(32),
    merkleRoot: r.bytes(32),
    time: r.u32(),
    bits: r.u32(),
    nonce: r.u32(),
  };
}

export function parseHeader(bytes: Uint8Array): BlockHeader {
  if (bytes.length !== 80) throw new Error(`header: expected 80 bytes, got ${bytes.length}`);
  return readHeader(new Reader(bytes, "header"));
}

/** Block hash, internal byte order. */
export function blockHash(h: BlockHeader): Uint8Array {
  return sha256d(serializeHeader(h));
}

export const blockHashHex = (h: BlockHeader): string => hashToHex(blockHash(h));

export function serializeBlock(b: Block, withWitness = true): Uint8Array {
  const w = new Writer();
  w.bytes(serializeHeader(b.header)).varInt(b.txs.length);
  for (const tx of b.txs) writeTx(w, tx, withWitness);
  return w.finish();
}

function readBlock(r: Reader): Block {
  const header = readHeader(r);
  const n = r.varInt();
  const txs: Tx[] = [];
  for (let i = 0; i < n; i++) txs.push(readTx(r));
  return { header, txs };
}

/** Decodes a whole block; trailing bytes are an error. */
export function parseBlock(bytes: Uint8Array, what = "block"): Block {
  const r = new Reader(bytes, what);
  const block = readBlock(r);
  if (r.remaining !== 0) throw new Error(`${what}: ${r.remaining} trailing bytes`);
  return block;
}

/** Decodes the block at the start of `bytes` and ignores what follows (as bitcoind's submitblock). */
export function parseBlockPrefix(bytes: Uint8Array, what = "block"): Block {
  return readBlock(new Reader(bytes, what));
}

export interface MerkleResult {
  root: Uint8Array;
  /** True when two equal sibling hashes were seen (CVE-2012-2459). */
  mutated: boolean;
}

/** Merkle root of hashes (internal order), duplicating the last hash of odd levels. */
export function merkleRoot(hashes: Uint8Array[]): MerkleResult {
  if (hashes.length === 0) return { root: new Uint8Array(32), mutated: false };
  let level = hashes.slice();
  let mutated = false;
  while (level.length > 1) {
    for (let i = 0; i + 1 < level.length; i += 2) {
      if (equalBytes(level[i], level[i + 1])) mutated = true;
    }
    if (level.length % 2 === 1) level.push(level[level.length - 1]);
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) next.push(sha256d(concat(level[i], level[i + 1])));
    level = next;
  }
  return { root: level[0], mutated };
}

/**
 * Merkle branch for the first leaf (the coinbase), as a miner needs it:
 * the sibling at each level, bottom up. `others` excludes the coinbase.
 */
export function coinbaseMerkleBranch(others: Uint8Array[]): Uint8Array[] {
  const branch: Uint8Array[] = [];
  let level: (Uint8Array | null)[] = [null, ...others];
  while (level.length > 1) {
    branch.push((level[1] ?? level[0]) as Uint8Array);
    if (level.length % 2 === 1) level.push(level[level.length - 1]);
    const next: (Uint8Array | null)[] = [null];
    for (let i = 2; i < level.length; i += 2) {
      next.push(sha256d(concat(level[i] as Uint8Array, level[i + 1] as Uint8Array)));
    }
    level = next;
  }
  return branch;
}

export function blockMerkleRoot(b: Block): MerkleResult {
  return merkleRoot(b.txs.map(txid));
}

/** Witness merkle root: wtxids with the coinbase's replaced by 32 zero bytes. */
export function witnessMerkleRoot(b: Block | Tx[]): Uint8Array {
  const txs = Array.isArray(b) ? b : b.txs;
  return merkleRoot(txs.map((tx, i) => (i === 0 ? new Uint8Array(32) : wtxid(tx)))).root;
}

/** The 6-byte prefix of a witness commitment output script: OP_RETURN, push 36, aa21a9ed. */
export const WITNESS_COMMITMENT_HEADER = Uint8Array.from([0x6a, 0x24, 0xaa, 0x21, 0xa9, 0xed]);

/** The commitment hash: sha256d(witness merkle root || witness reserved value). */
export function witnessCommitment(witnessRoot: Uint8Array, reserved: Uint8Array): Uint8Array {
  return sha256d(concat(witnessRoot, reserved));
}

export function witnessCommitmentScript(commitment: Uint8Array): Uint8Array {
  return concat(WITNESS_COMMITMENT_HEADER, commitment);
}

/** Index of the coinbase output carrying the commitment (the last match), or -1. */
export function findWitnessCommitment(coinbase: Tx): number {
  let pos = -1;
  coinbase.vout.forEach((out, i) => {
    const s = out.scriptPubKey;
    if (s.length >= 38 && equalBytes(s.subarray(0, 6), WITNESS_COMMITMENT_HEADER)) pos = i;
  });
  return pos;
}

export interface BlockSizes {
  size: number;
  strippedSize: number;
  weight: number;
}

export function blockSizes(b: Block): BlockSizes {
  const size = serializeBlock(b, true).length;
  const strippedSize = serializeBlock(b, false).length;
  return { size, strippedSize, weight: strippedSize * 3 + size };
}
