/**
 * The bits a block must carry and the earliest time it may have, per chain:
 * regtest keeps its genesis bits forever (or the test-only -testbits value);
 * signet retargets every 2016 blocks from the time the previous period took,
 * clamped to a factor of 4 and never easier than the proof-of-work limit.
 */
import { decodeBits, encodeBits } from "../../lib/bitcoin/mod.ts";
import type { ChainParams } from "./chainparams.ts";
import { MAX_TIMEWARP } from "./params.ts";

/** What these rules need of a block index entry. */
export interface IndexedHeader {
  height: number;
  header: { bits: number; time: number };
  prev?: IndexedHeader;
}

function ancestor(entry: IndexedHeader, height: number): IndexedHeader {
  let e = entry;
  while (e.height > height) e = e.prev as IndexedHeader;
  return e;
}

/** Core's GetNextWorkRequired for a block on top of `prev` (no min-difficulty chains here). */
export function nextWorkRequired(
  params: ChainParams,
  prev: IndexedHeader,
  testBits?: number,
): number {
  if (testBits !== undefined) return testBits;
  if (!params.retarget || (prev.height + 1) % params.adjustmentInterval !== 0) {
    return prev.header.bits;
  }
  const first = ancestor(prev, prev.height - (params.adjustmentInterval - 1));
  let span = prev.header.time - first.header.time;
  span = Math.max(params.targetTimespan / 4, Math.min(params.targetTimespan * 4, span));
  let target = decodeBits(prev.header.bits).target * BigInt(span) / BigInt(params.targetTimespan);
  if (target > params.powLimit) target = params.powLimit;
  return encodeBits(target);
}

/**
 * Core's GetMinimumTime: one second past the median time past, and on the
 * first block of a retarget period no earlier than 600 s before its parent
 * (the BIP 94 timewarp bound, applied to templates on every chain).
 */
export function minimumTime(params: ChainParams, prev: IndexedHeader, mtp: number): number {
  let min = mtp + 1;
  if ((prev.height + 1) % params.adjustmentInterval === 0) {
    min = Math.max(min, prev.header.time - MAX_TIMEWARP);
  }
  return min;
}
