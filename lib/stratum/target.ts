/**
 * Targets and difficulties as exact BigInt arithmetic.
 *
 * A hash meets a target when, read as a 256-bit little-endian number, it is
 * <= the target. Difficulty 1 is the target 0x00000000FFFF << 208; difficulty
 * d is that target divided by d, so difficulties below 1 give larger targets
 * (capped at 2^256 - 1, which every hash meets).
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

/** The network target encoded by compact `nbits` (exponent byte, 23-bit mantissa). */
export function targetFromBits(bits: number): bigint {
  const exponent = bits >>> 24;
  const mantissa = BigInt(bits & 0x007fffff);
  if (bits & 0x00800000) throw new Error(`nbits ${bits.toString(16)}: negative target`);
  return exponent <= 3
    ? mantissa >> (8n * BigInt(3 - exponent))
    : mantissa << (8n * BigInt(exponent - 3));
}

/** Network difficulty of compact `nbits`. */
export function difficultyFromBits(bits: number): number {
  return difficultyFromTarget(targetFromBits(bits));
}
