/**
 * Stratum jobs: parse `mining.notify`, rebuild the header a share describes,
 * and mine (iterate nonce, version bits and extranonce2) until a share meets
 * the target for a difficulty.
 */

import {
  concat,
  fromHex,
  hashToBigInt,
  hashToHex,
  serializeHeader,
  sha256d,
  targetFromBits,
  targetFromDifficulty,
  toHex,
} from "../bitcoin/mod.ts";
import { foldMerkleBranch, parseU32Hex, prevhashFromStratum, u32Hex } from "./encoding.ts";

/** One `mining.notify`, fields decoded. */
export interface Job {
  jobId: string;
  /** Previous block hash in internal byte order. */
  prevhash: Uint8Array;
  coinb1: Uint8Array;
  coinb2: Uint8Array;
  /** Merkle branch hashes, internal order. */
  merkleBranch: Uint8Array[];
  version: number;
  bits: number;
  ntime: number;
  cleanJobs: boolean;
  /** The notify params as received. */
  raw: unknown[];
}

/** Decodes `mining.notify` params; throws naming the field that is malformed. */
export function parseNotify(params: unknown[]): Job {
  if (!Array.isArray(params) || params.length < 9) {
    throw new Error(`mining.notify: expected 9 params, got ${JSON.stringify(params)}`);
  }
  const [jobId, prevhash, coinb1, coinb2, branch, version, nbits, ntime, clean] = params;
  const str = (value: unknown, what: string): string => {
    if (typeof value !== "string") throw new Error(`mining.notify: ${what} must be a string`);
    return value;
  };
  if (!Array.isArray(branch)) throw new Error("mining.notify: merkle_branch must be an array");
  return {
    jobId: str(jobId, "job_id"),
    prevhash: prevhashFromStratum(str(prevhash, "prevhash")),
    coinb1: fromHex(str(coinb1, "coinb1")),
    coinb2: fromHex(str(coinb2, "coinb2")),
    merkleBranch: branch.map((h, i) => fromHex(str(h, `merkle_branch[${i}]`))),
    version: parseU32Hex(str(version, "version"), "version"),
    bits: parseU32Hex(str(nbits, "nbits"), "nbits"),
    ntime: parseU32Hex(str(ntime, "ntime"), "ntime"),
    cleanJobs: clean === true,
    raw: params,
  };
}

/** What a miner chooses for one share. */
export interface ShareChoice {
  extranonce1: Uint8Array;
  extranonce2: Uint8Array;
  ntime: number;
  nonce: number;
  /** The header version after rolling (job version with masked bits replaced). */
  version: number;
}

/** Coinbase transaction (without witness) for a job and extranonces. */
export function buildCoinbase(job: Job, extranonce1: Uint8Array, extranonce2: Uint8Array) {
  return concat(job.coinb1, extranonce1, extranonce2, job.coinb2);
}

/** Merkle root of a job's block for the given extranonces. */
export function merkleRootFor(job: Job, extranonce1: Uint8Array, extranonce2: Uint8Array) {
  const coinbaseTxid = sha256d(buildCoinbase(job, extranonce1, extranonce2));
  return foldMerkleBranch(coinbaseTxid, job.merkleBranch);
}

/** The 80-byte header a share describes. */
export function headerFor(job: Job, share: ShareChoice): Uint8Array {
  return serializeHeader({
    version: share.version,
    prevHash: job.prevhash,
    merkleRoot: merkleRootFor(job, share.extranonce1, share.extranonce2),
    time: share.ntime,
    bits: job.bits,
    nonce: share.nonce,
  });
}

/** Replaces the bits of `version` selected by `mask` with those of `rolled`. */
export function rollVersion(version: number, mask: number, rolled: number): number {
  return ((version & ~mask) | (rolled & mask)) >>> 0;
}

/** Options for `mine`. */
export interface MineOptions {
  extranonce1: Uint8Array;
  extranonce2Size: number;
  /** Starting extranonce2 value (incremented when the nonce space is exhausted). */
  extranonce2Start?: bigint;
  /** Negotiated BIP 310 mask; 0 or absent: no version rolling. */
  versionMask?: number;
  /** Nonce to start from; lets callers resume without repeating a share. */
  nonceStart?: number;
  /** Give up after this many headers (returns null). */
  maxHashes?: number;
  ntime?: number;
}

/** A share that meets the target, ready for `mining.submit`. */
export interface MinedShare {
  jobId: string;
  extranonce2Hex: string;
  ntimeHex: string;
  nonceHex: string;
  /** Rolled version bits (version & mask) as hex, present when rolling was negotiated. */
  versionBitsHex?: string;
  /** Header hash as bitcoind displays it. */
  hashHex: string;
  hash: bigint;
  /** Whether the hash also meets the network target from nbits. */
  isBlock: boolean;
  /** Headers hashed to find it. */
  hashes: number;
  /** Where to resume: the next nonce and extranonce2 to try. */
  next: { nonce: number; extranonce2: bigint };
}

/** Fixed-width big-endian bytes of `value`, as extranonce2 is sent in hex. */
function extranonce2Bytes(value: bigint, size: number): Uint8Array {
  return fromHex(value.toString(16).padStart(size * 2, "0").slice(-size * 2));
}

/**
 * Hashes headers until one meets the share target for `difficulty`. Iterates
 * the nonce; when version rolling is on, each nonce sweep of 2^32 would be
 * long, so the rolled bits advance every 2^16 nonces; extranonce2 advances
 * when the nonce wraps. Returns null after `maxHashes`.
 */
export function mine(job: Job, difficulty: number, opts: MineOptions): MinedShare | null {
  const shareTarget = targetFromDifficulty(difficulty);
  const networkTarget = targetFromBits(job.bits);
  const mask = (opts.versionMask ?? 0) >>> 0;
  const ntime = opts.ntime ?? job.ntime;
  let extranonce2 = opts.extranonce2Start ?? 0n;
  let nonce = (opts.nonceStart ?? 0) >>> 0;
  const maxHashes = opts.maxHashes ?? Infinity;

  let en2 = extranonce2Bytes(extranonce2, opts.extranonce2Size);
  let merkleRoot = merkleRootFor(job, opts.extranonce1, en2);
  for (let hashes = 1; hashes <= maxHashes; hashes++) {
    // Spread rolled bits over the mask: the k-th 2^16-nonce window uses value k.
    const rolled = mask === 0 ? 0 : spreadIntoMask(nonce >>> 16, mask);
    const version = rollVersion(job.version, mask, rolled);
    const header = serializeHeader({
      version,
      prevHash: job.prevhash,
      merkleRoot,
      time: ntime,
      bits: job.bits,
      nonce,
    });
    const digest = sha256d(header);
    const value = hashToBigInt(digest);
    const found = value <= shareTarget;
    const result: MinedShare | null = found
      ? {
        jobId: job.jobId,
        extranonce2Hex: toHex(en2),
        ntimeHex: u32Hex(ntime),
        nonceHex: u32Hex(nonce),
        versionBitsHex: mask === 0 ? undefined : u32Hex((version & mask) >>> 0),
        hashHex: hashToHex(digest),
        hash: value,
        isBlock: value <= networkTarget,
        hashes,
        next: { nonce: 0, extranonce2 },
      }
      : null;
    nonce = (nonce + 1) >>> 0;
    if (nonce === 0) {
      extranonce2 += 1n;
      en2 = extranonce2Bytes(extranonce2, opts.extranonce2Size);
      merkleRoot = merkleRootFor(job, opts.extranonce1, en2);
    }
    if (result) {
      result.next = { nonce, extranonce2 };
      return result;
    }
  }
  return null;
}

/** Deposits the low bits of `value` into the set bits of `mask`, lowest first. */
export function spreadIntoMask(value: number, mask: number): number {
  let out = 0;
  let bit = 0;
  for (let i = 0; i < 32; i++) {
    if ((mask >>> i) & 1) {
      if ((value >>> bit) & 1) out |= 1 << i;
      bit++;
    }
  }
  return out >>> 0;
}
