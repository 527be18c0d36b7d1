/**
 * Hashes: SHA-256, double SHA-256 (Bitcoin's hash), HASH160 via node:crypto,
 * and a header hasher with a precomputed midstate for proof-of-work grinding.
 */
import { createHash } from "node:crypto";
import { reversed, toHex } from "./bytes.ts";

export function sha256(data: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(data).digest());
}

export function sha256d(data: Uint8Array): Uint8Array {
  return sha256(sha256(data));
}

/** A hash as Bitcoin displays it: byte-reversed hex. */
export function hashToHex(hash: Uint8Array): string {
  return toHex(reversed(hash));
}

// FIPS 180-4 constants, derived as the standard defines them: the first 32
// bits of the fractional parts of square roots (H0) and cube roots (K) of primes.
function firstPrimes(n: number): number[] {
  const primes: number[] = [];
  for (let c = 2; primes.length < n; c++) {
    if (primes.every((p) => c % p !== 0)) primes.push(c);
  }
  return primes;
}
const frac32 = (x: number): number => Math.floor((x - Math.floor(x)) * 2 ** 32) >>> 0;
const PRIMES = firstPrimes(64);
const K = Uint32Array.from(PRIMES.map((p) => frac32(Math.cbrt(p))));
const H0 = Uint32Array.from(PRIMES.slice(0, 8).map((p) => frac32(Math.sqrt(p))));

/** One SHA-256 compression of the 16 words `w[0..15]` into `state` (in place). */
function compress(state: Uint32Array, w: Uint32Array): void {
  for (let i = 16; i < 64; i++) {
    const a = w[i - 15], b = w[i - 2];
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    w[i] = (w[i - 16] + s0 + w[i - 7] + s1) | 0;
  }
  let a = state[0], b = state[1], c = state[2], d = state[3];
  let e = state[4], f = state[5], g = state[6], h = state[7];
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (h + S1 + ((e & f) ^ (~e & g)) + K[i] + w[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    h = g;
    g = f;
    f = e;
    e = (d + t1) | 0;
    d = c;
    c = b;
    b = a;
    a = (t1 + t2) | 0;
  }
  state[0] += a;
  state[1] += b;
  state[2] += c;
  state[3] += d;
  state[4] += e;
  state[5] += f;
  state[6] += g;
  state[7] += h;
}

const readBE = (b: Uint8Array, o: number): number =>
  ((b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3]) >>> 0;

/**
 * Hashes an 80-byte header for many nonces: the first 64 bytes are compressed
 * once, each nonce costs two compressions. Returns the hash in internal byte order.
 */
export class HeaderHasher {
  private readonly mid = new Uint32Array(8);
  private readonly tail = new Uint32Array(64);
  private readonly w = new Uint32Array(64);
  private readonly s = new Uint32Array(8);

  constructor(header: Uint8Array) {
    if (header.length !== 80) throw new Error(`header: expected 80 bytes, got ${header.length}`);
    this.mid.set(H0);
    const w = new Uint32Array(64);
    for (let i = 0; i < 16; i++) w[i] = readBE(header, i * 4);
    compress(this.mid, w);
    for (let i = 0; i < 3; i++) this.tail[i] = readBE(header, 64 + i * 4);
    this.tail[4] = 0x80000000;
    this.tail[15] = 640; // 80 bytes in bits
  }

  /**
   * sha256d(header with `nonce`), internal byte order (little-endian number),
   * written into `out` (a new array by default; pass one to reuse it in a hot loop).
   */
  hash(nonce: number, out: Uint8Array = new Uint8Array(32)): Uint8Array {
    const w = this.w, s = this.s;
    w.set(this.tail.subarray(0, 16));
    // The nonce is little-endian in the header; SHA-256 reads big-endian words.
    w[3] = ((nonce & 0xff) << 24) | ((nonce & 0xff00) << 8) | ((nonce >>> 8) & 0xff00) |
      (nonce >>> 24);
    s.set(this.mid);
    compress(s, w);
    for (let i = 0; i < 8; i++) w[i] = s[i];
    w[8] = 0x80000000;
    for (let i = 9; i < 15; i++) w[i] = 0;
    w[15] = 256;
    s.set(H0);
    compress(s, w);
    for (let i = 0; i < 8; i++) {
      out[i * 4] = s[i] >>> 24;
      out[i * 4 + 1] = s[i] >>> 16;
      out[i * 4 + 2] = s[i] >>> 8;
      out[i * 4 + 3] = s[i];
    }
    return out;
  }
}
