/**
 * Block validity rules with Bitcoin Core's reject strings. Context-free
 * checks (CheckBlock), header checks against the parent
 * (ContextualCheckBlockHeader) and block checks at a height
 * (ContextualCheckBlock). Connecting (fees, spends) lives in chain.ts.
 */
import {
  type Block,
  blockHash,
  blockMerkleRoot,
  blockSizes,
  checkProofOfWork,
  equalBytes,
  findWitnessCommitment,
  hashToHex,
  hasWitness,
  isCoinbase,
  isNullPrevout,
  legacySigOps,
  outpointKey,
  scriptNumPush,
  serializeTx,
  type Tx,
  witnessCommitment,
  witnessMerkleRoot,
} from "../../lib/bitcoin/mod.ts";
import {
  MAX_BLOCK_SIGOPS_COST,
  MAX_BLOCK_WEIGHT,
  MAX_FUTURE_BLOCK_TIME,
  MAX_MONEY,
  MIN_BLOCK_VERSION,
  WITNESS_SCALE_FACTOR,
} from "./params.ts";

/** A failed check: Core's reject string and whether it means "the data was mutated". */
export interface Reject {
  reason: string;
  /** Mutated blocks are not remembered as invalid (their hash does not commit to the fault). */
  mutated?: boolean;
  /** Why, in words, where the reason alone does not say (logged, never returned over RPC). */
  detail?: string;
}

const reject = (reason: string, mutated = false): Reject => ({ reason, mutated });

/** Core's CheckTransaction: structure, amounts, duplicate inputs, coinbase script size. */
export function checkTransaction(tx: Tx): Reject | null {
  if (tx.vin.length === 0) return reject("bad-txns-vin-empty");
  if (tx.vout.length === 0) return reject("bad-txns-vout-empty");
  if (serializeTx(tx, false).length * WITNESS_SCALE_FACTOR > MAX_BLOCK_WEIGHT) {
    return reject("bad-txns-oversize");
  }
  let total = 0n;
  for (const out of tx.vout) {
    if (out.value < 0n) return reject("bad-txns-vout-negative");
    if (out.value > MAX_MONEY) return reject("bad-txns-vout-toolarge");
    total += out.value;
    if (total > MAX_MONEY) return reject("bad-txns-txouttotal-toolarge");
  }
  const seen = new Set<string>();
  for (const input of tx.vin) {
    const key = outpointKey(input.prevout);
    if (seen.has(key)) return reject("bad-txns-inputs-duplicate");
    seen.add(key);
  }
  if (isCoinbase(tx)) {
    const len = tx.vin[0].scriptSig.length;
    if (len < 2 || len > 100) return reject("bad-cb-length");
  } else if (tx.vin.some((i) => isNullPrevout(i.prevout))) {
    return reject("bad-txns-prevout-null");
  }
  return null;
}

export interface CheckBlockOptions {
  /** false for block proposals (BIP 23): no proof of work, and so no signet solution either. */
  checkPow: boolean;
  powLimit: bigint;
  /** Signet: checks the block solution (BIP 325); null when valid, else why. */
  signetSolution?: (block: Block) => string | null;
  /** Display hex of the genesis hash: its signet solution is valid by definition. */
  genesisHash?: string;
}

/** Core's CheckBlock, in its order. */
export function checkBlock(block: Block, opts: CheckBlockOptions): Reject | null {
  const hash = blockHash(block.header);
  if (opts.checkPow && !checkProofOfWork(hash, block.header.bits, opts.powLimit)) {
    return reject("high-hash");
  }
  if (opts.checkPow && opts.signetSolution && hashToHex(hash) !== opts.genesisHash) {
    const why = opts.signetSolution(block);
    if (why !== null) return { reason: "bad-signet-blksig", detail: why };
  }
  const { root, mutated } = blockMerkleRoot(block);
  if (!equalBytes(root, block.header.merkleRoot)) return reject("bad-txnmrklroot", true);
  if (mutated) return reject("bad-txns-duplicate", true);
  const { strippedSize } = blockSizes(block);
  if (
    block.txs.length === 0 || block.txs.length * WITNESS_SCALE_FACTOR > MAX_BLOCK_WEIGHT ||
    strippedSize * WITNESS_SCALE_FACTOR > MAX_BLOCK_WEIGHT
  ) {
    return reject("bad-blk-length");
  }
  if (!isCoinbase(block.txs[0])) return reject("bad-cb-missing");
  for (let i = 1; i < block.txs.length; i++) {
    if (isCoinbase(block.txs[i])) return reject("bad-cb-multiple");
  }
  for (const tx of block.txs) {
    const bad = checkTransaction(tx);
    if (bad) return reject(bad.reason);
  }
  let sigops = 0;
  for (const tx of block.txs) {
    for (const i of tx.vin) sigops += legacySigOps(i.scriptSig);
    for (const o of tx.vout) sigops += legacySigOps(o.scriptPubKey);
  }
  if (sigops * WITNESS_SCALE_FACTOR > MAX_BLOCK_SIGOPS_COST) return reject("bad-blk-sigops");
  return null;
}

export interface HeaderContext {
  expectedBits: number;
  /** Median time of the previous 11 blocks. */
  medianTimePast: number;
  /** Local clock, seconds. */
  now: number;
}

/** Core's ContextualCheckBlockHeader for regtest and signet (no checkpoints to check). */
export function contextualCheckHeader(block: Block, ctx: HeaderContext): Reject | null {
  const h = block.header;
  if (h.bits >>> 0 !== ctx.expectedBits >>> 0) return reject("bad-diffbits");
  if (h.time <= ctx.medianTimePast) return reject("time-too-old");
  if (h.time > ctx.now + MAX_FUTURE_BLOCK_TIME) return reject("time-too-new");
  if (h.version < MIN_BLOCK_VERSION) {
    return reject(`bad-version(0x${(h.version >>> 0).toString(16).padStart(8, "0")})`);
  }
  return null;
}

/** BIP 113 finality: locktime compared to height or median time past. */
function isFinal(tx: Tx, height: number, lockTimeCutoff: number): boolean {
  if (tx.locktime === 0) return true;
  const limit = tx.locktime < 500_000_000 ? height : lockTimeCutoff;
  if (tx.locktime < limit) return true;
  return tx.vin.every((i) => i.sequence === 0xffffffff);
}

/** Core's ContextualCheckBlock: finality, BIP 34 height, witness commitment, weight. */
export function contextualCheckBlock(
  block: Block,
  height: number,
  medianTimePast: number,
): Reject | null {
  for (const tx of block.txs) {
    if (!isFinal(tx, height, medianTimePast)) return reject("bad-txns-nonfinal");
  }
  const expect = scriptNumPush(height);
  const sig = block.txs[0].vin[0].scriptSig;
  if (sig.length < expect.length || !equalBytes(sig.subarray(0, expect.length), expect)) {
    return reject("bad-cb-height");
  }
  const witnessFault = checkWitnessCommitment(block);
  if (witnessFault) return witnessFault;
  if (blockSizes(block).weight > MAX_BLOCK_WEIGHT) return reject("bad-blk-weight");
  return null;
}

/** BIP 141: a commitment needs one 32-byte reserved value; witness data needs a commitment. */
export function checkWitnessCommitment(block: Block): Reject | null {
  const coinbase = block.txs[0];
  const pos = findWitnessCommitment(coinbase);
  if (pos >= 0) {
    const stack = coinbase.vin[0].witness;
    if (stack.length !== 1 || stack[0].length !== 32) return reject("bad-witness-nonce-size", true);
    const commitment = witnessCommitment(witnessMerkleRoot(block), stack[0]);
    if (!equalBytes(commitment, coinbase.vout[pos].scriptPubKey.subarray(6, 38))) {
      return reject("bad-witness-merkle-match", true);
    }
    return null;
  }
  if (block.txs.some(hasWitness)) return reject("unexpected-witness", true);
  return null;
}

/**
 * What Core's submitblock does before validating: a coinbase that commits to
 * witness data but carries no witness gets the default all-zero reserved value.
 */
export function addDefaultWitnessNonce(block: Block): void {
  const coinbase = block.txs[0];
  if (!coinbase || coinbase.vin.length === 0) return;
  if (findWitnessCommitment(coinbase) >= 0 && !hasWitness(coinbase)) {
    coinbase.vin[0].witness = [new Uint8Array(32)];
  }
}
