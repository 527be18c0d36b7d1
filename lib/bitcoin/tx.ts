/**
 * Transactions: (de)serialization with and without BIP 144 witness data,
 * txid, wtxid, sizes and weight (BIP 141).
 */
import { equalBytes, Reader, Writer } from "./bytes.ts";
import { hashToHex, sha256d } from "./hash.ts";

export interface OutPoint {
  /** Previous txid, internal byte order. */
  hash: Uint8Array;
  index: number;
}

export interface TxIn {
  prevout: OutPoint;
  scriptSig: Uint8Array;
  sequence: number;
  witness: Uint8Array[];
}

export interface TxOut {
  /** Satoshis. */
  value: bigint;
  scriptPubKey: Uint8Array;
}

export interface Tx {
  version: number;
  vin: TxIn[];
  vout: TxOut[];
  locktime: number;
}

const NULL_HASH = new Uint8Array(32);

export function hasWitness(tx: Tx): boolean {
  return tx.vin.some((i) => i.witness.length > 0);
}

export function isNullPrevout(p: OutPoint): boolean {
  return p.index === 0xffffffff && equalBytes(p.hash, NULL_HASH);
}

export function isCoinbase(tx: Tx): boolean {
  return tx.vin.length === 1 && isNullPrevout(tx.vin[0].prevout);
}

export function writeTx(w: Writer, tx: Tx, withWitness: boolean): void {
  const segwit = withWitness && hasWitness(tx);
  w.i32(tx.version);
  if (segwit) w.u8(0).u8(1);
  w.varInt(tx.vin.length);
  for (const input of tx.vin) {
    w.bytes(input.prevout.hash).u32(input.prevout.index).varBytes(input.scriptSig).u32(
      input.sequence,
    );
  }
  w.varInt(tx.vout.length);
  for (const out of tx.vout) w.i64(out.value).varBytes(out.scriptPubKey);
  if (segwit) {
    for (const input of tx.vin) {
      w.varInt(input.witness.length);
      for (const item of input.witness) w.varBytes(item);
    }
  }
  w.u32(tx.locktime);
}

export function serializeTx(tx: Tx, withWitness = true): Uint8Array {
  const w = new Writer();
  writeTx(w, tx, withWitness);
  return w.finish();
}

/**
 * Reads one transaction. Like Bitcoin Core, a marker 0x00 followed by flag
 * 0x01 means witness serialization; other flags and superfluous witness
 * (all stacks empty) are rejected.
 */
export function readTx(r: Reader): Tx {
  const version = r.i32();
  let count = r.varInt();
  let flags = 0;
  if (count === 0) {
    flags = r.u8();
    // As Core: flag 0 after an empty input list means a transaction with no inputs and no outputs.
    if (flags === 0) return { version, vin: [], vout: [], locktime: r.u32() };
    if (flags !== 1) throw new Error("tx: unknown optional data flags");
    count = r.varInt();
  }
  const vin: TxIn[] = [];
  for (let i = 0; i < count; i++) {
    const hash = r.bytes(32);
    const index = r.u32();
    const scriptSig = r.varBytes();
    const sequence = r.u32();
    vin.push({ prevout: { hash, index }, scriptSig, sequence, witness: [] });
  }
  const vout: TxOut[] = [];
  const outCount = r.varInt();
  for (let i = 0; i < outCount; i++) vout.push({ value: r.i64(), scriptPubKey: r.varBytes() });
  if (flags & 1) {
    for (const input of vin) {
      const n = r.varInt();
      for (let j = 0; j < n; j++) input.witness.push(r.varBytes());
    }
    if (!vin.some((i) => i.witness.length > 0)) throw new Error("tx: superfluous witness record");
  }
  const locktime = r.u32();
  return { version, vin, vout, locktime };
}

/** Decodes exactly one transaction from `bytes` (no trailing data). */
export function parseTx(bytes: Uint8Array, what = "tx"): Tx {
  const r = new Reader(bytes, what);
  const tx = readTx(r);
  if (r.remaining !== 0) throw new Error(`${what}: ${r.remaining} trailing bytes`);
  return tx;
}

/** txid in internal byte order (hash of the serialization without witness). */
export function txid(tx: Tx): Uint8Array {
  return sha256d(serializeTx(tx, false));
}

/** wtxid in internal byte order (equals txid when the tx has no witness). */
export function wtxid(tx: Tx): Uint8Array {
  return sha256d(serializeTx(tx, true));
}

export const txidHex = (tx: Tx): string => hashToHex(txid(tx));
export const wtxidHex = (tx: Tx): string => hashToHex(wtxid(tx));

export interface TxSizes {
  size: number;
  strippedSize: number;
  weight: number;
  vsize: number;
}

export function txSizes(tx: Tx): TxSizes {
  const size = serializeTx(tx, true).length;
  const strippedSize = serializeTx(tx, false).length;
  const weight = strippedSize * 3 + size;
  return { size, strippedSize, weight, vsize: Math.ceil(weight / 4) };
}

export function outpointKey(p: OutPoint): string {
  return `${hashToHex(p.hash)}:${p.index}`;
}
