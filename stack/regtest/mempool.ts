/**
 * The memory pool: transactions waiting for a block, with the fee each was
 * declared to pay (this node keeps no UTXO set, so fees cannot be derived
 * from inputs), in-pool dependencies, and removal when blocks confirm or
 * conflict with them. `fillMempool` generates well-formed witness
 * transactions for tests (the `fillmempool` RPC).
 */
import {
  type Block,
  concat,
  hashToHex,
  legacySigOps,
  outpointKey,
  serializeTx,
  type Tx,
  txid,
  txSizes,
  wtxid,
} from "../../lib/bitcoin/mod.ts";

export interface MempoolEntry {
  tx: Tx;
  /** Witness serialization. */
  raw: Uint8Array;
  txid: string;
  wtxid: string;
  /** Satoshis. */
  fee: bigint;
  weight: number;
  vsize: number;
  sigopCost: number;
  /** Seconds since the epoch when it entered the pool. */
  time: number;
  /** Chain height when it entered the pool. */
  height: number;
  /** txids of in-pool transactions this one spends. */
  parents: Set<string>;
}

/**
 * Sigop cost as a template reports it. Legacy sigops count 4 each; witness
 * inputs are judged by their shape since prevout scripts are unknown here:
 * a two-item witness ending in a 33-byte key is P2WPKH (1), otherwise the last
 * item is taken as a witness script. Taproot spends cost nothing.
 */
export function estimateSigopCost(tx: Tx): number {
  let cost = 0;
  for (const i of tx.vin) cost += legacySigOps(i.scriptSig) * 4;
  for (const o of tx.vout) cost += legacySigOps(o.scriptPubKey) * 4;
  for (const i of tx.vin) {
    const w = i.witness;
    if (w.length === 2 && w[1].length === 33) cost += 1;
    else if (w.length >= 2) cost += legacySigOps(w[w.length - 1]);
  }
  return cost;
}

export class Mempool {
  private entries = new Map<string, MempoolEntry>();
  /** Outpoint key -> txid of the pool transaction spending it. */
  private spends = new Map<string, string>();
  /** Every fee this node was told of, kept after confirmation for reorgs. */
  readonly knownFees = new Map<string, bigint>();
  /** Bumped on every change; part of the getblocktemplate longpollid. */
  updates = 0;

  get size(): number {
    return this.entries.size;
  }

  has(id: string): boolean {
    return this.entries.has(id);
  }

  get(id: string): MempoolEntry | undefined {
    return this.entries.get(id);
  }

  /** Entries in insertion order (parents before children). */
  list(): MempoolEntry[] {
    return [...this.entries.values()];
  }

  /** The txid of a pool transaction already spending `key`, if any. */
  spender(key: string): string | undefined {
    return this.spends.get(key);
  }

  add(tx: Tx, fee: bigint, height: number, atFront = false): MempoolEntry {
    const id = hashToHex(txid(tx));
    const sizes = txSizes(tx);
    const parents = new Set(
      tx.vin.map((i) => hashToHex(i.prevout.hash)).filter((p) => this.entries.has(p)),
    );
    const entry: MempoolEntry = {
      tx,
      raw: serializeTx(tx, true),
      txid: id,
      wtxid: hashToHex(wtxid(tx)),
      fee,
      weight: sizes.weight,
      vsize: sizes.vsize,
      sigopCost: estimateSigopCost(tx),
      time: Math.floor(Date.now() / 1000),
      height,
      parents,
    };
    if (atFront) this.entries = new Map([[id, entry], ...this.entries]);
    else this.entries.set(id, entry);
    for (const i of tx.vin) this.spends.set(outpointKey(i.prevout), id);
    this.knownFees.set(id, fee);
    this.updates++;
    return entry;
  }

  /** Removes `ids` and, when `withDescendants`, everything spending them (one pass each). */
  private remove(ids: Iterable<string>, withDescendants: boolean): void {
    const doomed = new Set([...ids].filter((id) => this.entries.has(id)));
    if (doomed.size === 0) return;
    if (withDescendants) {
      const children = new Map<string, string[]>();
      for (const e of this.entries.values()) {
        for (const p of e.parents) children.set(p, [...(children.get(p) ?? []), e.txid]);
      }
      const queue = [...doomed];
      while (queue.length > 0) {
        for (const child of children.get(queue.pop() as string) ?? []) {
          if (!doomed.has(child)) {
            doomed.add(child);
            queue.push(child);
          }
        }
      }
    }
    for (const id of doomed) {
      const entry = this.entries.get(id) as MempoolEntry;
      this.entries.delete(id);
      for (const i of entry.tx.vin) this.spends.delete(outpointKey(i.prevout));
    }
    for (const e of this.entries.values()) {
      for (const p of e.parents) if (doomed.has(p)) e.parents.delete(p);
    }
    this.updates++;
  }

  /** A block confirmed: drop its transactions and whatever conflicts with them. */
  removeForBlock(block: Block): void {
    const confirmed: string[] = [];
    const conflicts: string[] = [];
    for (const tx of block.txs.slice(1)) {
      const id = hashToHex(txid(tx));
      confirmed.push(id);
      for (const i of tx.vin) {
        const spender = this.spends.get(outpointKey(i.prevout));
        if (spender && spender !== id) conflicts.push(spender);
      }
    }
    this.remove(confirmed, false);
    this.remove(conflicts, true);
  }

  /** A block was disconnected: its transactions return to the front of the pool. */
  readdFromBlock(block: Block, height: number): void {
    for (const tx of block.txs.slice(1).reverse()) {
      const id = hashToHex(txid(tx));
      if (this.entries.has(id)) continue;
      this.add(tx, this.knownFees.get(id) ?? 0n, height, true);
    }
    // Children already in the pool now depend on the re-added parents.
    for (const entry of this.entries.values()) {
      for (const i of entry.tx.vin) {
        const p = hashToHex(i.prevout.hash);
        if (this.entries.has(p)) entry.parents.add(p);
      }
    }
  }
}

function randomBytes(n: number): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(n));
}

/** A DER-shaped signature with SIGHASH_ALL, 71 bytes: structure only, never verified here. */
function fakeSignature(): Uint8Array {
  const r = randomBytes(32), s = randomBytes(32);
  r[0] &= 0x7f;
  s[0] &= 0x7f;
  return concat(
    Uint8Array.of(0x30, 0x44, 0x02, 0x20),
    r,
    Uint8Array.of(0x02, 0x20),
    s,
    Uint8Array.of(1),
  );
}

function p2wpkhInputWitness(): Uint8Array[] {
  const pubkey = concat(Uint8Array.of(0x02 | (randomBytes(1)[0] & 1)), randomBytes(32));
  return [fakeSignature(), pubkey];
}

/**
 * Adds `count` generated transactions: version 2, P2WPKH-shaped witness inputs,
 * a P2WPKH and a P2TR output, fees between 1,000 and 50,000 sat. Every third
 * one spends the previous one's first output, so templates carry `depends`.
 */
export function fillMempool(pool: Mempool, count: number, height: number): string[] {
  const ids: string[] = [];
  let previous: Tx | undefined;
  for (let n = 0; n < count; n++) {
    const chained = previous !== undefined && n % 3 === 2;
    const prevHash = chained ? txid(previous as Tx) : randomBytes(32);
    const inputs = chained ? 1 : 1 + (n % 2);
    const tx: Tx = {
      version: 2,
      vin: Array.from({ length: inputs }, (_, k) => ({
        prevout: { hash: k === 0 ? prevHash : randomBytes(32), index: chained ? 0 : k },
        scriptSig: new Uint8Array(0),
        sequence: 0xfffffffd,
        witness: p2wpkhInputWitness(),
      })),
      vout: [
        {
          value: 50_000n + BigInt(n) * 10n,
          scriptPubKey: concat(Uint8Array.of(0x00, 0x14), randomBytes(20)),
        },
        { value: 25_000n, scriptPubKey: concat(Uint8Array.of(0x51, 0x20), randomBytes(32)) },
      ],
      locktime: 0,
    };
    const fee = 1_000n + BigInt(Math.floor(Math.random() * 49_000));
    ids.push(pool.add(tx, fee, height).txid);
    previous = tx;
  }
  return ids;
}
