/**
 * Bitcoin hashing and byte-order helpers for the Stratum test client.
 *
 * Byte orders used here:
 * - "internal" order is how bytes sit inside a serialized header or
 *   transaction and what sha256d returns. Merkle branch entries in
 *   `mining.notify` are internal order.
 * - "display" order is the reverse, as bitcoind's RPC and block explorers
 *   print block hashes and txids.
 * - Stratum's `prevhash` is a third form, see `prevhashFromStratum`.
 */

import { createHash } from "node:crypto";

/** Lowercase hex of `bytes`. */
export function toHex(bytes: Uint8Array): string {
  let out = "";
  for (const byte of bytes) out += byte.toString(16).padStart(2, "0");
  return out;
}

/** Bytes of an even-length hex string; throws naming the input when it is not hex. */
export function fromHex(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) {
    throw new Error(`not a hex string: ${JSON.stringify(hex.slice(0, 80))}`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

/** A reversed copy of `bytes`. */
export function reversed(bytes: Uint8Array): Uint8Array {
  return bytes.slice().reverse();
}

/** Concatenation of byte arrays. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** SHA-256 of `data`. */
export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(data).digest());
}

/** SHA-256 applied twice, as Bitcoin hashes headers and transactions. */
export function sha256d(data: Uint8Array): Uint8Array {
  return sha256(sha256(data));
}

/** `value` as 4 little-endian bytes. */
export function u32le(value: number): Uint8Array {
  const out = new Uint8Array(4);
  new DataView(out.buffer).setUint32(0, value >>> 0, true);
  return out;
}

/** Parses Stratum's big-endian 8-digit hex of a 32-bit field (version, nbits, ntime, nonce). */
export function parseU32Hex(hex: string, what = "u32"): number {
  if (!/^[0-9a-fA-F]{8}$/.test(hex)) throw new Error(`${what}: expected 8 hex digits, got ${hex}`);
  return parseInt(hex, 16) >>> 0;
}

/** Stratum's 8-digit big-endian hex of a 32-bit field. */
export function u32Hex(value: number): string {
  return (value >>> 0).toString(16).padStart(8, "0");
}

/**
 * Stratum `prevhash` -> internal byte order.
 *
 * Stratum sends the 32 internal-order bytes as 8 groups of 4 bytes with each
 * group's bytes reversed: stratum byte 4i+j is internal byte 4i+(3-j). Seen
 * from the display (RPC) hex, the Stratum hex is the display hex's eight
 * 8-digit groups written in reverse group order. For example display hash
 * 00000000000008a3a41b85b8b29ad444def299fee21793cd8b9e567eab02cd81 becomes
 * Stratum ab02cd81 8b9e567e e21793cd def299fe b29ad444 a41b85b8 000008a3 00000000
 * (spaces added).
 */
export function prevhashFromStratum(hex: string): Uint8Array {
  const bytes = fromHex(hex);
  if (bytes.length !== 32) throw new Error(`prevhash: expected 32 bytes, got ${bytes.length}`);
  return swapWords(bytes);
}

/** Internal byte order -> Stratum `prevhash` hex (the inverse of `prevhashFromStratum`). */
export function prevhashToStratum(internal: Uint8Array): string {
  if (internal.length !== 32) {
    throw new Error(`prevhash: expected 32 bytes, got ${internal.length}`);
  }
  return toHex(swapWords(internal));
}

/** Reverses the bytes within each 4-byte group. */
function swapWords(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 4) {
    for (let j = 0; j < 4; j++) out[i + j] = bytes[i + 3 - j];
  }
  return out;
}

/** Merkle root from the coinbase txid and the branch (all internal order). */
export function foldMerkleBranch(leaf: Uint8Array, branch: readonly Uint8Array[]): Uint8Array {
  let root = leaf;
  for (const sibling of branch) root = sha256d(concat(root, sibling));
  return root;
}

/**
 * The merkle branch proving leaf 0 (the coinbase) given the other txids in
 * block order, internal byte order. A level with an odd count pairs its last
 * hash with itself, as Bitcoin does.
 */
export function merkleBranchForCoinbase(otherTxids: readonly Uint8Array[]): Uint8Array[] {
  const branch: Uint8Array[] = [];
  // Level hashes excluding position 0, whose value the miner supplies.
  let level: Uint8Array[] = [...otherTxids];
  while (level.length > 0) {
    branch.push(level[0]);
    const next: Uint8Array[] = [];
    // Pairs (1,2), (3,4)... of the full level; position 0 pairs with level[0] above.
    for (let i = 1; i < level.length; i += 2) {
      const right = i + 1 < level.length ? level[i + 1] : level[i];
      next.push(sha256d(concat(level[i], right)));
    }
    level = next;
  }
  return branch;
}

/** Fields of an 80-byte block header as numbers and internal-order hashes. */
export interface HeaderFields {
  version: number;
  prevhash: Uint8Array;
  merkleRoot: Uint8Array;
  ntime: number;
  bits: number;
  nonce: number;
}

/** Serializes a header: version, prevhash, merkle root, ntime, bits, nonce (numbers LE). */
export function buildHeader(h: HeaderFields): Uint8Array {
  if (h.prevhash.length !== 32 || h.merkleRoot.length !== 32) {
    throw new Error("header: prevhash and merkle root must be 32 bytes");
  }
  return concat(
    u32le(h.version),
    h.prevhash,
    h.merkleRoot,
    u32le(h.ntime),
    u32le(h.bits),
    u32le(h.nonce),
  );
}

/** A hash (internal order, i.e. little-endian number) as a BigInt. */
export function hashToBigInt(hash: Uint8Array): bigint {
  return BigInt("0x" + (toHex(reversed(hash)) || "0"));
}

/** The hash as bitcoind displays it. */
export function hashToDisplayHex(hash: Uint8Array): string {
  return toHex(reversed(hash));
}
