/**
 * An independent block builder for the regtest tests, written from BIP 34 /
 * 141 / 144 and the block format with node:crypto only. It deliberately
 * shares no code with lib/bitcoin, so a bug there cannot cancel out here:
 * lib/bitcoin's midstate hasher only pre-filters nonces when grinding proof
 * of work (signet needs ~5 million headers per block), and every candidate is
 * checked here with node:crypto before it is used.
 */
import { Buffer } from "node:buffer";
import { createHash } from "node:crypto";
import { HeaderHasher } from "../../lib/bitcoin/hash.ts";

export const hex = (b: Uint8Array): string =>
  Buffer.from(b.buffer, b.byteOffset, b.length).toString("hex");

export function unhex(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, "hex"));
}

export function join(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function dsha(b: Uint8Array): Uint8Array {
  const once = createHash("sha256").update(b).digest();
  return new Uint8Array(createHash("sha256").update(once).digest());
}

/** Display order (reversed) <-> internal order. */
export const flip = (b: Uint8Array): Uint8Array => b.slice().reverse();

function le32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n >>> 0, true);
  return b;
}

function le64(n: bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, n, true);
  return b;
}

export function compactSize(n: number): Uint8Array {
  if (n < 0xfd) return Uint8Array.of(n);
  if (n <= 0xffff) return Uint8Array.of(0xfd, n & 0xff, n >> 8);
  return join(Uint8Array.of(0xfe), le32(n));
}

const withLen = (b: Uint8Array): Uint8Array => join(compactSize(b.length), b);

export interface Input {
  txid: Uint8Array; // internal order
  vout: number;
  script: Uint8Array;
  sequence: number;
  witness: Uint8Array[];
}

export interface Output {
  value: bigint;
  script: Uint8Array;
}

export interface Transaction {
  version: number;
  inputs: Input[];
  outputs: Output[];
  locktime: number;
}

export function encodeTx(tx: Transaction, witness: boolean): Uint8Array {
  const useWitness = witness && tx.inputs.some((i) => i.witness.length > 0);
  const parts: Uint8Array[] = [le32(tx.version)];
  if (useWitness) parts.push(Uint8Array.of(0, 1));
  parts.push(compactSize(tx.inputs.length));
  for (const i of tx.inputs) parts.push(i.txid, le32(i.vout), withLen(i.script), le32(i.sequence));
  parts.push(compactSize(tx.outputs.length));
  for (const o of tx.outputs) parts.push(le64(o.value), withLen(o.script));
  if (useWitness) {
    for (const i of tx.inputs) {
      parts.push(compactSize(i.witness.length));
      for (const w of i.witness) parts.push(withLen(w));
    }
  }
  parts.push(le32(tx.locktime));
  return join(...parts);
}

export const txidOf = (tx: Transaction): Uint8Array => dsha(encodeTx(tx, false));
export const wtxidOf = (tx: Transaction): Uint8Array => dsha(encodeTx(tx, true));

/** A transaction given as hex (e.g. from a template), with its ids. */
export interface RawTx {
  raw: Uint8Array;
  txid: Uint8Array; // internal order
  wtxid: Uint8Array; // internal order
}

export function rawOf(tx: Transaction): RawTx {
  return { raw: encodeTx(tx, true), txid: txidOf(tx), wtxid: wtxidOf(tx) };
}

export function merkle(leaves: Uint8Array[]): Uint8Array {
  let level = leaves;
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i < level.length; i += 2) {
      next.push(dsha(join(level[i], level[i + 1] ?? level[i])));
    }
    level = next;
  }
  return level[0];
}

/** BIP 34 height as `CScript() << height` writes it: OP_1..OP_16 for small heights. */
export function heightPush(h: number): Uint8Array {
  if (h >= 1 && h <= 16) return Uint8Array.of(0x50 + h);
  const bytes: number[] = [];
  for (let v = h; v > 0; v = Math.floor(v / 256)) bytes.push(v % 256);
  if (bytes[bytes.length - 1] & 0x80) bytes.push(0);
  return Uint8Array.of(bytes.length, ...bytes);
}

/** A non-coinbase transaction spending a made-up outpoint; witness optional. */
export function dummyTx(seed: number, witness = false, witnessBytes = 0): Transaction {
  const prev = dsha(Uint8Array.of(seed & 0xff, (seed >> 8) & 0xff, 0x77));
  return {
    version: 2,
    inputs: [{
      txid: prev,
      vout: 0,
      script: new Uint8Array(0),
      sequence: 0xffffffff,
      witness: witness
        ? [new Uint8Array(witnessBytes || 72).fill(0x30), new Uint8Array(33).fill(2)]
        : [],
    }],
    outputs: [{
      value: 1000n,
      script: join(Uint8Array.of(0x00, 0x14), new Uint8Array(20).fill(seed & 0xff)),
    }],
    locktime: 0,
  };
}

export interface BlockSpec {
  prevHash: string; // display hex
  height: number;
  time: number;
  bits: string; // 8 hex digits
  version?: number;
  /** Total paid by the coinbase. */
  coinbaseValue: bigint;
  /** Extra bytes after the height push in the coinbase scriptSig. */
  coinbaseTag?: Uint8Array;
  /** Replaces the whole coinbase scriptSig (height push included). */
  coinbaseScriptSig?: Uint8Array;
  /** Non-coinbase transactions in block order. */
  txs?: RawTx[];
  /** "auto": correct commitment; "none": no commitment output; or a 32-byte value to commit. */
  commitment?: "auto" | "none" | Uint8Array;
  /** Coinbase witness stack; default one 32-byte zero item when committing, none otherwise. */
  coinbaseWitness?: Uint8Array[];
  /** Transactions placed before the coinbase-built one (to break "coinbase first"). */
  prepend?: RawTx[];
  merkleRoot?: Uint8Array; // internal order override
  /** "valid" (default): grind until hash <= target; "invalid": until hash > target. */
  pow?: "valid" | "invalid";
  payTo?: Uint8Array;
  /**
   * Signet (BIP 325): solution bytes (scriptSig and witness stack, serialized)
   * pushed after the 4-byte signet header into the witness commitment output.
   */
  signetSolution?: Uint8Array;
}

const SIGNET_HEADER = Uint8Array.of(0xec, 0xc7, 0xda, 0xa2);

/** A minimal script push of `data` (direct or OP_PUSHDATA1/2). */
export function pushData(data: Uint8Array): Uint8Array {
  if (data.length < 0x4c) return join(Uint8Array.of(data.length), data);
  if (data.length <= 0xff) return join(Uint8Array.of(0x4c, data.length), data);
  return join(Uint8Array.of(0x4d, data.length & 0xff, data.length >> 8), data);
}

/** A BIP 325 solution: scriptSig, then the witness stack, each length-prefixed. */
export function signetSolution(scriptSig: Uint8Array, witness: Uint8Array[] = []): Uint8Array {
  return join(
    compactSize(scriptSig.length),
    scriptSig,
    compactSize(witness.length),
    ...witness.flatMap((w) => [compactSize(w.length), w]),
  );
}

export function targetOf(bits: string): bigint {
  const n = parseInt(bits, 16);
  const exp = n >>> 24;
  const mant = BigInt(n & 0x7fffff);
  return exp <= 3 ? mant >> BigInt(8 * (3 - exp)) : mant << BigInt(8 * (exp - 3));
}

const asNumber = (hashInternal: Uint8Array): bigint => BigInt("0x" + hex(flip(hashInternal)));

/**
 * Sets the header's nonce so that its hash meets `target` (or, for
 * `wantValid` false, misses it); returns that hash in internal order.
 */
function grind(header: Uint8Array, target: bigint, wantValid: boolean): Uint8Array {
  const view = new DataView(header.buffer, header.byteOffset, 80);
  const meets = (nonce: number): Uint8Array | null => {
    view.setUint32(76, nonce, true);
    const hash = dsha(header);
    return (asNumber(hash) <= target) === wantValid ? hash : null;
  };
  if (!wantValid) {
    for (let nonce = 0;; nonce++) {
      const hash = meets(nonce);
      if (hash) return hash;
    }
  }
  // The hash read as a number is little-endian: its top 32 bits are bytes 31..28.
  const topLimit = Number(target >> 224n);
  const hasher = new HeaderHasher(header);
  const digest = new Uint8Array(32);
  for (let nonce = 0; nonce <= 0xffffffff; nonce++) {
    hasher.hash(nonce, digest);
    const top = ((digest[31] << 24) | (digest[30] << 16) | (digest[29] << 8) | digest[28]) >>> 0;
    if (top > topLimit) continue;
    const hash = meets(nonce);
    if (hash) return hash;
  }
  throw new Error("no nonce meets the target: change the time or the coinbase and build again");
}

export interface BuiltBlock {
  hex: string;
  hash: string; // display
  coinbase: Transaction;
  txids: string[]; // display
}

export function buildBlock(spec: BlockSpec): BuiltBlock {
  const txs = spec.txs ?? [];
  const commitMode = spec.commitment ?? "auto";
  const scriptSig = spec.coinbaseScriptSig ??
    join(heightPush(spec.height), spec.coinbaseTag ?? Uint8Array.of(0x00, 0x42));
  const outputs: Output[] = [{
    value: spec.coinbaseValue,
    script: spec.payTo ?? join(Uint8Array.of(0x00, 0x14), new Uint8Array(20).fill(0x11)),
  }];
  let witness: Uint8Array[] = [];
  if (commitMode !== "none") {
    const reserved = new Uint8Array(32);
    witness = spec.coinbaseWitness ?? [reserved];
    let commitment: Uint8Array;
    if (commitMode === "auto") {
      const root = merkle([new Uint8Array(32), ...txs.map((t) => t.wtxid)]);
      commitment = dsha(join(root, witness[0] ?? reserved));
    } else {
      commitment = commitMode;
    }
    const signet = spec.signetSolution === undefined
      ? new Uint8Array(0)
      : pushData(join(SIGNET_HEADER, spec.signetSolution));
    outputs.push({ value: 0n, script: join(unhex("6a24aa21a9ed"), commitment, signet) });
  } else if (spec.coinbaseWitness) {
    witness = spec.coinbaseWitness;
  }
  const coinbase: Transaction = {
    version: 2,
    inputs: [{
      txid: new Uint8Array(32),
      vout: 0xffffffff,
      script: scriptSig,
      sequence: 0xffffffff,
      witness,
    }],
    outputs,
    locktime: 0,
  };
  const all: RawTx[] = [...(spec.prepend ?? []), rawOf(coinbase), ...txs];
  const root = spec.merkleRoot ?? merkle(all.map((t) => t.txid));
  const header = join(
    le32(spec.version ?? 0x20000000),
    flip(unhex(spec.prevHash)),
    root,
    le32(spec.time),
    flip(unhex(spec.bits)),
    le32(0),
  );
  const hash = grind(header, targetOf(spec.bits), (spec.pow ?? "valid") === "valid");
  const body = join(header, compactSize(all.length), ...all.map((t) => t.raw));
  return {
    hex: hex(body),
    hash: hex(flip(hash)),
    coinbase,
    txids: all.map((t) => hex(flip(t.txid))),
  };
}

/** Template transactions as RawTx, checking the template's own ids against ours. */
export function templateTxs(txs: { data: string; txid: string; hash: string }[]): RawTx[] {
  return txs.map((t) => {
    const raw = unhex(t.data);
    const rawTx: RawTx = { raw, txid: dsha(stripWitness(raw)), wtxid: dsha(raw) };
    if (hex(flip(rawTx.txid)) !== t.txid) throw new Error(`template txid mismatch for ${t.txid}`);
    if (hex(flip(rawTx.wtxid)) !== t.hash) throw new Error(`template wtxid mismatch for ${t.hash}`);
    return rawTx;
  });
}

/** The non-witness serialization of a raw transaction (parses just enough). */
export function stripWitness(raw: Uint8Array): Uint8Array {
  if (raw[4] !== 0 || raw[5] !== 1) return raw;
  let o = 6;
  const readSize = (): number => {
    const f = raw[o++];
    if (f < 0xfd) return f;
    if (f === 0xfd) return raw[o++] | (raw[o++] << 8);
    const v = new DataView(raw.buffer, raw.byteOffset + o, 4).getUint32(0, true);
    o += 4;
    return v;
  };
  const nIn = readSize();
  for (let i = 0; i < nIn; i++) {
    o += 36;
    const scriptLen = readSize(); // read first: `o += readSize()` would lose readSize's advance
    o += scriptLen + 4;
  }
  const nOut = readSize();
  for (let i = 0; i < nOut; i++) {
    o += 8;
    const scriptLen = readSize();
    o += scriptLen;
  }
  const bodyEnd = o;
  for (let i = 0; i < nIn; i++) {
    const items = readSize();
    for (let j = 0; j < items; j++) {
      const itemLen = readSize();
      o += itemLen;
    }
  }
  return join(raw.subarray(0, 4), raw.subarray(6, bodyEnd), raw.subarray(o, o + 4));
}
