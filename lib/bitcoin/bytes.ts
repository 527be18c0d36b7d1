/**
 * Byte helpers shared by the Bitcoin primitives: hex, concatenation, and a
 * little-endian reader/writer with Bitcoin's CompactSize integers.
 */

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

const NIBBLE = new Int8Array(128).fill(-1);
for (let i = 0; i < 16; i++) {
  NIBBLE["0123456789abcdef".charCodeAt(i)] = i;
  NIBBLE["0123456789ABCDEF".charCodeAt(i)] = i;
}

/** Decodes an even-length hex string; `what` names the input in the error. */
export function fromHex(hex: string, what = "hex"): Uint8Array {
  if (typeof hex !== "string" || hex.length % 2 !== 0) {
    throw new Error(`${what}: not an even-length hex string`);
  }
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) {
    const c1 = hex.charCodeAt(2 * i), c2 = hex.charCodeAt(2 * i + 1);
    const hi = c1 < 128 ? NIBBLE[c1] : -1, lo = c2 < 128 ? NIBBLE[c2] : -1;
    if (hi < 0 || lo < 0) throw new Error(`${what}: not an even-length hex string`);
    out[i] = (hi << 4) | lo;
  }
  return out;
}

const HEX_DIGITS = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

export function toHex(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += HEX_DIGITS[b];
  return s;
}

export function isHex(s: string): boolean {
  return typeof s === "string" && HEX_RE.test(s);
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** A reversed copy (hashes are displayed byte-reversed). */
export function reversed(bytes: Uint8Array): Uint8Array {
  return bytes.slice().reverse();
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Byte length of a CompactSize encoding of n. */
export function varIntSize(n: number): number {
  return n < 0xfd ? 1 : n <= 0xffff ? 3 : n <= 0xffffffff ? 5 : 9;
}

/** Growable little-endian buffer writer. */
export class Writer {
  private buf = new Uint8Array(256);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  u8(v: number): this {
    this.reserve(1);
    this.buf[this.len++] = v & 0xff;
    return this;
  }

  u32(v: number): this {
    this.reserve(4);
    new DataView(this.buf.buffer).setUint32(this.len, v >>> 0, true);
    this.len += 4;
    return this;
  }

  i32(v: number): this {
    this.reserve(4);
    new DataView(this.buf.buffer).setInt32(this.len, v | 0, true);
    this.len += 4;
    return this;
  }

  u64(v: bigint): this {
    this.reserve(8);
    new DataView(this.buf.buffer).setBigUint64(this.len, BigInt.asUintN(64, v), true);
    this.len += 8;
    return this;
  }

  i64(v: bigint): this {
    this.reserve(8);
    new DataView(this.buf.buffer).setBigInt64(this.len, BigInt.asIntN(64, v), true);
    this.len += 8;
    return this;
  }

  varInt(n: number): this {
    if (n < 0xfd) return this.u8(n);
    if (n <= 0xffff) return this.u8(0xfd).u8(n).u8(n >> 8);
    if (n <= 0xffffffff) return this.u8(0xfe).u32(n);
    return this.u8(0xff).u64(BigInt(n));
  }

  bytes(b: Uint8Array): this {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
    return this;
  }

  varBytes(b: Uint8Array): this {
    return this.varInt(b.length).bytes(b);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

/** Little-endian reader that throws a named error when the input ends early. */
export class Reader {
  private off = 0;
  private readonly view: DataView;

  constructor(private readonly buf: Uint8Array, private readonly what = "data") {
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }

  get offset(): number {
    return this.off;
  }

  get remaining(): number {
    return this.buf.length - this.off;
  }

  private need(n: number): void {
    if (this.off + n > this.buf.length) {
      throw new Error(`${this.what}: unexpected end of data at byte ${this.off}`);
    }
  }

  u8(): number {
    this.need(1);
    return this.buf[this.off++];
  }

  u32(): number {
    this.need(4);
    const v = this.view.getUint32(this.off, true);
    this.off += 4;
    return v;
  }

  i32(): number {
    this.need(4);
    const v = this.view.getInt32(this.off, true);
    this.off += 4;
    return v;
  }

  i64(): bigint {
    this.need(8);
    const v = this.view.getBigInt64(this.off, true);
    this.off += 8;
    return v;
  }

  /** CompactSize; rejects non-canonical encodings like Bitcoin Core does. */
  varInt(): number {
    const first = this.u8();
    if (first < 0xfd) return first;
    let v: number;
    if (first === 0xfd) {
      this.need(2);
      v = this.view.getUint16(this.off, true);
      this.off += 2;
      if (v < 0xfd) throw new Error(`${this.what}: non-canonical CompactSize`);
    } else if (first === 0xfe) {
      v = this.u32();
      if (v <= 0xffff) throw new Error(`${this.what}: non-canonical CompactSize`);
    } else {
      const big = this.view.getBigUint64((this.need(8), this.off), true);
      this.off += 8;
      if (big <= 0xffffffffn) throw new Error(`${this.what}: non-canonical CompactSize`);
      v = Number(big);
    }
    // Same ceiling as Core's MAX_SIZE: nothing in a block is larger.
    if (v > 0x02000000) throw new Error(`${this.what}: CompactSize ${v} too large`);
    return v;
  }

  bytes(n: number): Uint8Array {
    this.need(n);
    const out = this.buf.slice(this.off, this.off + n);
    this.off += n;
    return out;
  }

  varBytes(): Uint8Array {
    return this.bytes(this.varInt());
  }
}
