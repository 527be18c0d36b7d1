/**
 * Finds a block for a Stratum job fast enough for tests on signet, whose
 * minimum difficulty (~0.0011) needs about 4.8 million headers per block:
 * too many for the one-hash-per-call miner in tests/stratum (~35 kH/s).
 *
 * SHA-256 (FIPS 180-4) in plain 32-bit arithmetic, with the header's first
 * 64 bytes compressed once (midstate) and only the nonce changing, so each
 * header costs two compressions. This is a prefilter: a nonce whose hash
 * looks like a block is handed to tests/stratum's `mine`, which builds and
 * checks the share itself, so a bug here can cost time but never yield a
 * wrong share.
 */

import { fromHex } from "../stratum/hash.ts";
import { headerFor, type Job, mine, type MinedShare } from "../stratum/job.ts";
import type { StratumClient } from "../stratum/client.ts";

const K = Uint32Array.from([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);

const IV = Uint32Array.from([
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
]);

const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));

/** One SHA-256 compression: `out` = state after absorbing the 16-word block `w` (w is clobbered). */
export function compress(state: Uint32Array, w: Uint32Array, out: Uint32Array): void {
  for (let i = 16; i < 64; i++) {
    const a = w[i - 15], b = w[i - 2];
    const s0 = rotr(a, 7) ^ rotr(a, 18) ^ (a >>> 3);
    const s1 = rotr(b, 17) ^ rotr(b, 19) ^ (b >>> 10);
    w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
  }
  let a = state[0], b = state[1], c = state[2], d = state[3];
  let e = state[4], f = state[5], g = state[6], h = state[7];
  for (let i = 0; i < 64; i++) {
    const t1 = (h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i] +
      w[i]) | 0;
    const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  out[0] = state[0] + a;
  out[1] = state[1] + b;
  out[2] = state[2] + c;
  out[3] = state[3] + d;
  out[4] = state[4] + e;
  out[5] = state[5] + f;
  out[6] = state[6] + g;
  out[7] = state[7] + h;
}

function readWords(bytes: Uint8Array, offset: number, count: number, into: Uint32Array): void {
  const view = new DataView(bytes.buffer, bytes.byteOffset + offset, count * 4);
  for (let i = 0; i < count; i++) into[i] = view.getUint32(i * 4, false);
}

const bswap = (x: number) =>
  (((x & 0xff) << 24) | ((x & 0xff00) << 8) | ((x >>> 8) & 0xff00) | (x >>> 24)) >>> 0;

/** The most significant 32 bits of a target given as compact bits (hash <= target). */
function targetTopWord(bits: number): number {
  const exponent = bits >>> 24;
  const mantissa = bits & 0x7fffff;
  // target = mantissa * 256^(exponent-3); its top word sits at byte 28..31 of 32.
  const shiftBytes = exponent - 3 - 28;
  if (shiftBytes >= 0) return 0xffffffff;
  const shifted = -shiftBytes >= 4 ? 0 : Math.floor(mantissa / 256 ** -shiftBytes);
  return shifted >>> 0;
}

export interface BlockSearch {
  share: MinedShare;
  /** Headers tried. */
  hashes: number;
  seconds: number;
}

/**
 * Searches nonces (and then extranonce2 values) of `job` for a block; the
 * returned share meets the network target and the client's difficulty.
 */
export function mineBlock(
  client: Pick<StratumClient, "extranonce1" | "extranonce2Size" | "currentDifficulty">,
  job: Job,
  opts: { maxHashes?: number; extranonce2Start?: bigint } = {},
): BlockSearch {
  const started = performance.now();
  const extranonce1 = fromHex(client.extranonce1);
  const topLimit = targetTopWord(job.bits);
  const maxHashes = opts.maxHashes ?? 200_000_000;
  const mid = new Uint32Array(8);
  const w = new Uint32Array(64);
  const first = new Uint32Array(8);
  const second = new Uint32Array(8);
  const tail = new Uint32Array(3);
  let extranonce2 = opts.extranonce2Start ?? BigInt(Math.floor(Math.random() * 1e9));
  let hashes = 0;
  while (hashes < maxHashes) {
    const en2 = fromHex(
      extranonce2.toString(16).padStart(client.extranonce2Size * 2, "0")
        .slice(-client.extranonce2Size * 2),
    );
    const header = headerFor(job, {
      extranonce1,
      extranonce2: en2,
      ntime: job.ntime,
      nonce: 0,
      version: job.version,
    });
    readWords(header, 0, 16, w);
    compress(IV, w, mid);
    readWords(header, 64, 3, tail);
    for (let nonce = 0; nonce <= 0xffffffff && hashes < maxHashes; nonce++, hashes++) {
      w[0] = tail[0];
      w[1] = tail[1];
      w[2] = tail[2];
      w[3] = bswap(nonce); // the header stores the nonce little-endian
      w[4] = 0x80000000;
      for (let i = 5; i < 15; i++) w[i] = 0;
      w[15] = 640;
      compress(mid, w, first);
      for (let i = 0; i < 8; i++) w[i] = first[i];
      w[8] = 0x80000000;
      for (let i = 9; i < 15; i++) w[i] = 0;
      w[15] = 256;
      compress(IV, w, second);
      // The hash as a number is the digest read little-endian: its top word is bswap(word 7).
      if (bswap(second[7]) > topLimit) continue;
      const share = mine(job, client.currentDifficulty, {
        extranonce1,
        extranonce2Size: client.extranonce2Size,
        extranonce2Start: extranonce2,
        nonceStart: nonce,
        maxHashes: 1,
      });
      if (share?.isBlock) {
        return { share, hashes: hashes + 1, seconds: (performance.now() - started) / 1000 };
      }
    }
    extranonce2 += 1n;
  }
  throw new Error(`no block found in ${hashes} headers (bits ${job.bits.toString(16)})`);
}
