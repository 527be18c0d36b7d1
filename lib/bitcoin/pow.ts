/**
 * Proof of work: compact "bits" <-> 256-bit target, hash-vs-target check,
 * difficulty (relative to 0x1d00ffff) and chain work.
 */

export interface DecodedBits {
  target: bigint;
  negative: boolean;
  overflow: boolean;
}

/** Decodes compact bits as Bitcoin defines them (sign bit and overflow reported). */
export function decodeBits(bits: number): DecodedBits {
  const size = bits >>> 24;
  let word = bits & 0x007fffff;
  let target: bigint;
  if (size <= 3) {
    word >>>= 8 * (3 - size);
    target = BigInt(word);
  } else {
    target = BigInt(word) << BigInt(8 * (size - 3));
  }
  const negative = word !== 0 && (bits & 0x00800000) !== 0;
  const overflow = word !== 0 &&
    (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32));
  return { target: BigInt.asUintN(256, target), negative, overflow };
}

/** Encodes a target as compact bits (the shortest form, never with the sign bit). */
export function encodeBits(target: bigint): number {
  let size = target === 0n ? 0 : Math.ceil(target.toString(16).length / 2);
  let compact: number;
  if (size <= 3) compact = Number(target << BigInt(8 * (3 - size)));
  else compact = Number(target >> BigInt(8 * (size - 3)));
  if (compact & 0x00800000) {
    compact >>>= 8;
    size++;
  }
  return (compact | (size << 24)) >>> 0;
}

export function bitsToHex(bits: number): string {
  return (bits >>> 0).toString(16).padStart(8, "0");
}

/** Parses an 8-hex-digit bits value like "207fffff"; `what` names the input. */
export function parseBitsHex(hex: string, what = "bits"): number {
  if (!/^[0-9a-fA-F]{8}$/.test(hex)) {
    throw new Error(`${what}: expected 8 hex digits, got "${hex}"`);
  }
  return parseInt(hex, 16) >>> 0;
}

export function targetToHex(target: bigint): string {
  return target.toString(16).padStart(64, "0");
}

/** A hash in internal byte order read as the little-endian number PoW compares. */
export function hashToBigInt(hash: Uint8Array): bigint {
  let v = 0n;
  for (let i = hash.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(hash[i]);
  return v;
}

/** Bitcoin Core's CheckProofOfWork: bits must be a valid target <= powLimit and hash <= target. */
export function checkProofOfWork(hash: Uint8Array, bits: number, powLimit: bigint): boolean {
  const { target, negative, overflow } = decodeBits(bits);
  if (negative || overflow || target === 0n || target > powLimit) return false;
  return hashToBigInt(hash) <= target;
}

/** Difficulty as getdifficulty reports it: the 0x1d00ffff target divided by this one. */
export function difficulty(bits: number): number {
  let shift = (bits >>> 24) & 0xff;
  let diff = 0x0000ffff / (bits & 0x00ffffff);
  while (shift < 29) {
    diff *= 256;
    shift++;
  }
  while (shift > 29) {
    diff /= 256;
    shift--;
  }
  return diff;
}

/** Expected number of hashes for a block at these bits: 2^256 / (target + 1). */
export function blockWork(bits: number): bigint {
  const { target, negative, overflow } = decodeBits(bits);
  if (negative || overflow || target === 0n) return 0n;
  return (1n << 256n) / (target + 1n);
}
