/**
 * Proof of work: compact "bits" <-> 256-bit target, hash-vs-target check,
 * difficulty (relative to 0x1d00ffff) and chain work, and share difficulty
 * <-> target as exact BigInt arithmetic.
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

/*
 * Share targets. A hash meets a target when, read as a 256-bit little-endian
 * number, it is <= the target. Difficulty 1 is the target 0x00000000FFFF << 208;
 * difficulty d is that target divided by d, so difficulties below 1 give larger
 * targets (capped at 2^256 - 1, which every hash meets).
 */

/** The difficulty-1 target: 0xFFFF followed by 208 zero bits. */
export const DIFF1_TARGET: bigint = 0xffffn << 208n;
const DIFF1_BITS = DIFF1_TARGET.toString(2).length;
/** The largest 256-bit value: a target every hash meets. */
export const MAX_TARGET: bigint = (1n << 256n) - 1n;

/** A finite positive double as mantissa * 2^exponent, both exact. */
function splitDouble(value: number): { mantissa: bigint; exponent: number } {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, value);
  const high = view.getUint32(0);
  const low = view.getUint32(4);
  const biased = (high >>> 20) & 0x7ff;
  const fraction = (BigInt(high & 0xfffff) << 32n) | BigInt(low);
  // Subnormals have no implicit leading 1 and the minimum exponent.
  if (biased === 0) return { mantissa: fraction, exponent: -1074 };
  return { mantissa: fraction | (1n << 52n), exponent: biased - 1075 };
}

/** The share target for `difficulty` (floor of DIFF1 / difficulty), exact for any double. */
export function targetFromDifficulty(difficulty: number): bigint {
  if (!Number.isFinite(difficulty) || difficulty <= 0) {
    throw new Error(`difficulty must be a finite positive number, got ${difficulty}`);
  }
  const { mantissa, exponent } = splitDouble(difficulty);
  const target = exponent >= 0
    ? DIFF1_TARGET / (mantissa << BigInt(exponent))
    : (DIFF1_TARGET << BigInt(-exponent)) / mantissa;
  return target > MAX_TARGET ? MAX_TARGET : target;
}

/** DIFF1 / target as a double; a zero target is infinitely difficult. */
export function difficultyFromTarget(target: bigint): number {
  if (target <= 0n) return Infinity;
  // Scale the dividend so the integer quotient keeps at least 64 significant bits.
  const shift = BigInt(Math.max(0, target.toString(2).length - DIFF1_BITS + 64));
  return Number((DIFF1_TARGET << shift) / target) / 2 ** Number(shift);
}

/** The network target of compact `nbits`; throws on a negative or overflowing encoding. */
export function targetFromBits(bits: number): bigint {
  const { target, overflow } = decodeBits(bits);
  if (bits & 0x00800000) throw new Error(`nbits ${bits.toString(16)}: negative target`);
  if (overflow) throw new Error(`nbits ${bits.toString(16)}: target overflows 256 bits`);
  return target;
}
