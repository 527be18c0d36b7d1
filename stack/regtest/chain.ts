/**
 * The block tree and the active chain: accepting blocks (submitblock and
 * peers), most-work chain selection with reorganisation, connecting blocks
 * (double spends seen on the chain, coinbase amount against subsidy plus
 * known fees) and rebuilding everything from the block store at start.
 */
import {
  type Block,
  blockHash,
  type BlockHeader,
  blockWork,
  hashToHex,
  isCoinbase,
  outpointKey,
  parseBlock,
  serializeBlock,
  txid,
} from "../../lib/bitcoin/mod.ts";
import type { ChainParams } from "./chainparams.ts";
import { nextWorkRequired } from "./difficulty.ts";
import { Mempool } from "./mempool.ts";
import { blockSubsidy, MEDIAN_TIME_SPAN } from "./params.ts";
import { checkOpTrueSolution } from "./signet.ts";
import { BlockStore, type StoreRecord } from "./store.ts";
import {
  checkBlock,
  type CheckBlockOptions,
  contextualCheckBlock,
  contextualCheckHeader,
  type Reject,
} from "./validate.ts";

export interface BlockIndex {
  /** Display (byte-reversed) hex. */
  hash: string;
  header: BlockHeader;
  height: number;
  chainWork: bigint;
  prev?: BlockIndex;
  children: BlockIndex[];
  /** stored: passed every check but connecting; connected: connected once; invalid: never again. */
  status: "stored" | "connected" | "invalid";
  /** Full block, witness serialization; undefined for invalid entries. */
  data?: Uint8Array;
  /** Arrival order: with equal work the block seen first stays the tip (as in Core). */
  sequence: number;
}

export interface ChainOptions {
  store: BlockStore;
  mempool: Mempool;
  params: ChainParams;
  /** Test-only -testbits (regtest): bits every block after genesis must carry. */
  testBits?: number;
  /** Seconds since the epoch (replaceable for tests). */
  now?: () => number;
  /** Told why a block failed where its reject reason alone does not say (signet solutions). */
  onRejectDetail?: (hash: string, reject: Reject) => void;
}

export type TipListener = (tip: BlockIndex) => void;

export class Chain {
  readonly index = new Map<string, BlockIndex>();
  /** The active chain by height. */
  readonly active: BlockIndex[] = [];
  readonly mempool: Mempool;
  readonly params: ChainParams;
  private readonly testBits?: number;
  private readonly store: BlockStore;
  private readonly now: () => number;
  /** Outpoints spent on the active chain -> spending txid. */
  private readonly spent = new Map<string, string>();
  /** txids confirmed on the active chain. */
  readonly confirmed = new Set<string>();
  private sequence = 0;
  private readonly listeners = new Set<TipListener>();
  private readonly onRejectDetail?: (hash: string, reject: Reject) => void;

  constructor(opts: ChainOptions) {
    this.store = opts.store;
    this.mempool = opts.mempool;
    this.params = opts.params;
    this.testBits = opts.testBits;
    this.onRejectDetail = opts.onRejectDetail;
    this.now = opts.now ?? (() => Math.floor(Date.now() / 1000));
    const genesis = this.params.genesis;
    const entry = this.addEntry(genesis.header, serializeBlock(genesis), undefined, "connected");
    this.connectSpends(genesis, entry);
  }

  /** Bits the block after `prev` (default: the tip) must carry. */
  nextBits(prev: BlockIndex = this.tip): number {
    return nextWorkRequired(this.params, prev, this.testBits);
  }

  private checkOptions(checkPow: boolean): CheckBlockOptions {
    return {
      checkPow,
      powLimit: this.params.powLimit,
      signetSolution: this.params.signetChallenge ? checkOpTrueSolution : undefined,
      genesisHash: this.params.genesisHash,
    };
  }

  /** checkBlock, telling onRejectDetail what the reason alone does not say. */
  private checkContextFree(block: Block, checkPow: boolean): Reject | null {
    const bad = checkBlock(block, this.checkOptions(checkPow));
    if (bad?.detail) this.onRejectDetail?.(hashToHex(blockHash(block.header)), bad);
    return bad;
  }

  get tip(): BlockIndex {
    return this.active[this.active.length - 1];
  }

  get height(): number {
    return this.active.length - 1;
  }

  get storeSize(): number {
    return this.store.size;
  }

  onTip(listener: TipListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Replays stored records: blocks into the tree, verdicts onto entries, then selects the tip. */
  load(records: StoreRecord[]): void {
    for (const r of records) {
      if (r.kind === "B") {
        let block: Block;
        try {
          block = parseBlock(r.data, "stored block");
        } catch {
          continue;
        }
        const prev = this.index.get(hashToHex(block.header.prevHash));
        const hash = hashToHex(blockHash(block.header));
        if (prev && !this.index.has(hash)) this.addEntry(block.header, r.data, prev, "stored");
      } else {
        const entry = this.index.get(hashToHex(r.hash));
        if (!entry) continue;
        if (r.kind === "C" && entry.status === "stored") entry.status = "connected";
        if (r.kind === "X") this.markInvalid(entry);
      }
    }
    this.activateBestChain(new Map());
  }

  /** Median of the timestamps of `entry` and up to 10 of its ancestors. */
  medianTimePast(entry: BlockIndex): number {
    const times: number[] = [];
    for (let p: BlockIndex | undefined = entry; p && times.length < MEDIAN_TIME_SPAN; p = p.prev) {
      times.push(p.header.time);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)];
  }

  /** Highest block among valid entries (what getblockchaininfo calls headers). */
  get bestHeaderHeight(): number {
    let h = 0;
    for (const e of this.index.values()) if (e.status !== "invalid" && e.height > h) h = e.height;
    return h;
  }

  /** Whether a transaction on the active chain already spends this outpoint. */
  isSpent(outpoint: string): boolean {
    return this.spent.has(outpoint);
  }

  isActive(entry: BlockIndex): boolean {
    return this.active[entry.height] === entry;
  }

  /**
   * Validates and stores a block and moves the tip if it has the most work.
   * Returns the BIP 22 result: null when the block became part of the active
   * chain, else a reject reason, "duplicate" or "inconclusive".
   */
  submit(block: Block): string | null {
    const bad = this.checkContextFree(block, true);
    if (bad) return bad.reason;
    const hash = hashToHex(blockHash(block.header));
    if (this.index.has(hash)) return "duplicate";
    const prev = this.index.get(hashToHex(block.header.prevHash));
    if (!prev) return "prev-blk-not-found";
    if (prev.status === "invalid") return "bad-prevblk";
    const reason = this.checkInContext(block, prev);
    if (reason) {
      if (!reason.mutated && reason.stage === "block") {
        const entry = this.addEntry(block.header, undefined, prev, "invalid");
        entry.data = undefined;
      }
      return reason.reason;
    }
    const raw = serializeBlock(block);
    this.store.append({ kind: "B", data: raw });
    const entry = this.addEntry(block.header, raw, prev, "stored");
    const failures = new Map<BlockIndex, string>();
    this.activateBestChain(failures);
    const failure = failures.get(entry);
    if (failure) return failure;
    return this.isActive(entry) ? null : "inconclusive";
  }

  /**
   * What a block proposal (BIP 23) would get: every check including
   * connecting, on top of the current tip, without storing anything.
   */
  test(block: Block): string | null {
    const bad = this.checkContextFree(block, false);
    if (bad) return bad.reason;
    const tip = this.tip;
    if (hashToHex(block.header.prevHash) !== tip.hash) return "inconclusive-not-best-prevblk";
    const reason = this.checkInContext(block, tip);
    if (reason) return reason.reason;
    return this.connectChecks(block, tip.height + 1);
  }

  private checkInContext(
    block: Block,
    prev: BlockIndex,
  ): { reason: string; mutated?: boolean; stage: "header" | "block" } | null {
    const mtp = this.medianTimePast(prev);
    const hdr = contextualCheckHeader(block, {
      expectedBits: this.nextBits(prev),
      medianTimePast: mtp,
      now: this.now(),
    });
    if (hdr) return { ...hdr, stage: "header" };
    const blk = contextualCheckBlock(block, prev.height + 1, mtp);
    if (blk) return { ...blk, stage: "block" };
    return null;
  }

  private addEntry(
    header: BlockHeader,
    data: Uint8Array | undefined,
    prev: BlockIndex | undefined,
    status: BlockIndex["status"],
  ): BlockIndex {
    const entry: BlockIndex = {
      hash: hashToHex(blockHash(header)),
      header,
      height: prev ? prev.height + 1 : 0,
      chainWork: (prev?.chainWork ?? 0n) + blockWork(header.bits),
      prev,
      children: [],
      status,
      data,
      sequence: this.sequence++,
    };
    this.index.set(entry.hash, entry);
    prev?.children.push(entry);
    return entry;
  }

  private markInvalid(entry: BlockIndex): void {
    const queue = [entry];
    while (queue.length > 0) {
      const e = queue.pop() as BlockIndex;
      e.status = "invalid";
      queue.push(...e.children);
    }
  }

  /** The valid entry with the most work; with equal work the one seen first. */
  private findBest(): BlockIndex {
    let best = this.tip;
    for (const e of this.index.values()) {
      if (e.status === "invalid" || !e.data) continue;
      if (
        e.chainWork > best.chainWork ||
        (e.chainWork === best.chainWork && e.sequence < best.sequence)
      ) {
        best = e;
      }
    }
    return best;
  }

  private activateBestChain(failures: Map<BlockIndex, string>): void {
    const oldTip = this.tip;
    for (;;) {
      const best = this.findBest();
      if (best === this.tip) break;
      let fork: BlockIndex = best;
      while (!this.isActive(fork)) fork = fork.prev as BlockIndex;
      while (this.tip !== fork) this.disconnectTip();
      const path: BlockIndex[] = [];
      for (let p: BlockIndex = best; p !== fork; p = p.prev as BlockIndex) path.unshift(p);
      for (const entry of path) {
        const reason = this.connectTip(entry);
        if (reason) {
          failures.set(entry, reason);
          this.markInvalid(entry);
          this.store.append({ kind: "X", hash: blockHash(entry.header) });
          break;
        }
      }
    }
    if (this.tip !== oldTip) { for (const listener of this.listeners) listener(this.tip); }
  }

  /** ConnectBlock's checks this node can make: in-chain double spends and the coinbase amount. */
  private connectChecks(block: Block, height: number): string | null {
    const spentHere = new Set<string>();
    let fees = 0n;
    for (const tx of block.txs.slice(1)) {
      for (const input of tx.vin) {
        const key = outpointKey(input.prevout);
        if (this.spent.has(key) || spentHere.has(key)) return "bad-txns-inputs-missingorspent";
        spentHere.add(key);
      }
      fees += this.mempool.knownFees.get(hashToHex(txid(tx))) ?? 0n;
    }
    const claimed = block.txs[0].vout.reduce((sum, o) => sum + o.value, 0n);
    if (claimed > blockSubsidy(height, this.params.halvingInterval) + fees) return "bad-cb-amount";
    return null;
  }

  private connectTip(entry: BlockIndex): string | null {
    const block = parseBlock(entry.data as Uint8Array, "stored block");
    if (entry.status === "stored") {
      const reason = this.connectChecks(block, entry.height);
      if (reason) return reason;
      entry.status = "connected";
      this.store.append({ kind: "C", hash: blockHash(entry.header) });
    }
    this.connectSpends(block, entry);
    this.mempool.removeForBlock(block);
    return null;
  }

  private connectSpends(block: Block, entry: BlockIndex): void {
    for (const tx of block.txs) {
      const id = hashToHex(txid(tx));
      this.confirmed.add(id);
      if (isCoinbase(tx)) continue;
      for (const input of tx.vin) this.spent.set(outpointKey(input.prevout), id);
    }
    this.active[entry.height] = entry;
    this.active.length = entry.height + 1;
  }

  private disconnectTip(): void {
    const entry = this.tip;
    const block = parseBlock(entry.data as Uint8Array, "stored block");
    for (const tx of block.txs) {
      this.confirmed.delete(hashToHex(txid(tx)));
      if (isCoinbase(tx)) continue;
      for (const input of tx.vin) this.spent.delete(outpointKey(input.prevout));
    }
    this.active.length = entry.height;
    this.mempool.readdFromBlock(block, this.height);
  }

  /** The stored block for an index entry. */
  blockOf(entry: BlockIndex): Block {
    if (!entry.data) throw new Error(`block ${entry.hash}: no data`);
    return parseBlock(entry.data, `block ${entry.hash}`);
  }
}
