/**
 * Proof-of-work grinding for generatetoaddress: real double SHA-256 over the
 * header (midstate hasher), in slices that yield to the event loop so RPC
 * and peers stay responsive while mining at -testbits difficulty.
 */
import { type Block, decodeBits, HeaderHasher, serializeHeader } from "../../lib/bitcoin/mod.ts";

const SLICE = 50_000;

/** The target as 32 little-endian bytes, like a hash in internal order. */
function targetBytes(target: bigint): Uint8Array {
  const out = new Uint8Array(32);
  for (let i = 0; i < 32; i++) out[i] = Number((target >> BigInt(8 * i)) & 0xffn);
  return out;
}

/** hash <= target, both little-endian 256-bit numbers. */
function meetsTarget(hash: Uint8Array, target: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    if (hash[i] !== target[i]) return hash[i] < target[i];
  }
  return true;
}

export interface GrindResult {
  /** The solved block, or undefined when `maxTries` ran out first. */
  block?: Block;
  tries: number;
}

/** Searches nonces from 0; stops after `maxTries` hashes or at the first solution. */
export async function grind(
  block: Block,
  maxTries: number,
  aborted: () => boolean,
): Promise<GrindResult> {
  const target = targetBytes(decodeBits(block.header.bits).target);
  const hasher = new HeaderHasher(serializeHeader({ ...block.header, nonce: 0 }));
  let tries = 0;
  for (let nonce = 0; nonce <= 0xffffffff && tries < maxTries;) {
    const end = Math.min(nonce + SLICE, 0x100000000, nonce + (maxTries - tries));
    for (; nonce < end; nonce++) {
      tries++;
      if (meetsTarget(hasher.hash(nonce), target)) {
        return { block: { ...block, header: { ...block.header, nonce } }, tries };
      }
    }
    if (aborted()) break;
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
  return { tries };
}
