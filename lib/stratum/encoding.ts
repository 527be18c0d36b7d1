/**
 * Stratum's own encodings of Bitcoin fields (hex, hashing, headers and
 * targets come from lib/bitcoin/).
 *
 * Byte orders used here:
 * - "internal" order is how bytes sit inside a serialized header or
 *   transaction and what sha256d returns. Merkle branch entries in
 *   `mining.notify` are internal order.
 * - "display" order is the reverse, as bitcoind's RPC and block explorers
 *   print block hashes and txids.
 * - Stratum's `prevhash` is a third form, see `prevhashFromStratum`.
 */

import { concat, fromHex, sha256d, toHex } from "../bitcoin/mod.ts";

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
  const bytes = fromHex(hex, "prevhash");
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
