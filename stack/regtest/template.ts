/**
 * Block templates (BIP 22/23 getblocktemplate results) and the block a
 * template turns into when this node mines it itself (generatetoaddress).
 */
import {
  bitsToHex,
  type Block,
  concat,
  decodeBits,
  fromHex,
  merkleRoot,
  scriptNumPush,
  targetToHex,
  toHex,
  type Tx,
  txid,
  witnessCommitment,
  witnessCommitmentScript,
  wtxid,
} from "../../lib/bitcoin/mod.ts";
import type { Chain } from "./chain.ts";
import { minimumTime } from "./difficulty.ts";
import type { MempoolEntry } from "./mempool.ts";
import { blockSubsidy, MAX_BLOCK_SIGOPS_COST, MAX_BLOCK_WEIGHT } from "./params.ts";

/** Version with the BIP 9 top bits set and no deployment signalled. */
export const TEMPLATE_VERSION = 0x20000000;
/** Room kept for the coinbase, as Core's block assembler does. */
const COINBASE_WEIGHT_RESERVE = 4_000;
const COINBASE_SIGOPS_RESERVE = 400;

export interface TemplateTx {
  data: string;
  txid: string;
  hash: string;
  depends: number[];
  fee: number;
  sigops: number;
  weight: number;
}

export interface BlockTemplate {
  capabilities: string[];
  version: number;
  rules: string[];
  vbavailable: Record<string, number>;
  vbrequired: number;
  previousblockhash: string;
  transactions: TemplateTx[];
  coinbaseaux: Record<string, string>;
  coinbasevalue: number;
  longpollid: string;
  target: string;
  mintime: number;
  mutable: string[];
  noncerange: string;
  sigoplimit: number;
  sizelimit: number;
  weightlimit: number;
  curtime: number;
  bits: string;
  height: number;
  /** Signet only: the block challenge, hex. */
  signet_challenge?: string;
  default_witness_commitment: string;
}

/** Pool transactions that fit a block, parents first, within weight and sigop limits. */
export function selectTransactions(chain: Chain): MempoolEntry[] {
  const chosen: MempoolEntry[] = [];
  const ids = new Set<string>();
  let weight = COINBASE_WEIGHT_RESERVE;
  let sigops = COINBASE_SIGOPS_RESERVE;
  for (const entry of chain.mempool.list()) {
    if (![...entry.parents].every((p) => ids.has(p))) continue;
    if (weight + entry.weight > MAX_BLOCK_WEIGHT) continue;
    if (sigops + entry.sigopCost > MAX_BLOCK_SIGOPS_COST) continue;
    chosen.push(entry);
    ids.add(entry.txid);
    weight += entry.weight;
    sigops += entry.sigopCost;
  }
  return chosen;
}

/** The coinbase output script committing to these transactions' witnesses (reserved value 0). */
export function defaultWitnessCommitment(txs: Tx[]): Uint8Array {
  const root = merkleRoot([new Uint8Array(32), ...txs.map(wtxid)]).root;
  return witnessCommitmentScript(witnessCommitment(root, new Uint8Array(32)));
}

export function longpollId(chain: Chain): string {
  return `${chain.tip.hash}${chain.mempool.updates}`;
}

export function buildTemplate(chain: Chain): BlockTemplate {
  const tip = chain.tip;
  const entries = selectTransactions(chain);
  const position = new Map(entries.map((e, i) => [e.txid, i + 1]));
  const fees = entries.reduce((sum, e) => sum + e.fee, 0n);
  const mintime = minimumTime(chain.params, tip, chain.medianTimePast(tip));
  const bits = chain.nextBits();
  const challenge = chain.params.signetChallenge;
  const template: BlockTemplate = {
    capabilities: ["proposal"],
    version: TEMPLATE_VERSION,
    // As Core: "!signet" tells the miner it must understand signet's block solutions.
    rules: challenge ? ["csv", "!segwit", "!signet", "taproot"] : ["csv", "!segwit", "taproot"],
    vbavailable: {},
    vbrequired: 0,
    previousblockhash: tip.hash,
    transactions: entries.map((e) => ({
      data: toHex(e.raw),
      txid: e.txid,
      hash: e.wtxid,
      depends: [...e.parents].map((p) => position.get(p) as number).sort((a, b) => a - b),
      fee: Number(e.fee),
      sigops: e.sigopCost,
      weight: e.weight,
    })),
    coinbaseaux: {},
    coinbasevalue: Number(blockSubsidy(tip.height + 1, chain.params.halvingInterval) + fees),
    longpollid: longpollId(chain),
    target: targetToHex(decodeBits(bits).target),
    mintime,
    mutable: ["time", "transactions", "prevblock"],
    noncerange: "00000000ffffffff",
    sigoplimit: MAX_BLOCK_SIGOPS_COST,
    sizelimit: MAX_BLOCK_WEIGHT,
    weightlimit: MAX_BLOCK_WEIGHT,
    curtime: Math.max(Math.floor(Date.now() / 1000), mintime),
    bits: bitsToHex(bits),
    height: tip.height + 1,
    ...(challenge ? { signet_challenge: toHex(challenge) } : {}),
    default_witness_commitment: toHex(defaultWitnessCommitment(entries.map((e) => e.tx))),
  };
  return template;
}

/**
 * The unsolved block this node mines for generatetoaddress: coinbase
 * `<height> OP_0` paying the whole value to `payTo`, the witness commitment
 * output, and the coinbase witness reserved value (32 zero bytes). On a
 * signet with challenge OP_TRUE the commitment without a solution is valid.
 */
export function assembleBlock(chain: Chain, payTo: Uint8Array): Block {
  const t = buildTemplate(chain);
  const txs = t.transactions.map((tx) => chain.mempool.get(tx.txid)?.tx as Tx);
  const coinbase: Tx = {
    version: 2,
    vin: [{
      prevout: { hash: new Uint8Array(32), index: 0xffffffff },
      scriptSig: concat(scriptNumPush(t.height), Uint8Array.of(0x00)),
      sequence: 0xffffffff,
      witness: [new Uint8Array(32)],
    }],
    vout: [
      { value: BigInt(t.coinbasevalue), scriptPubKey: payTo },
      { value: 0n, scriptPubKey: fromHex(t.default_witness_commitment) },
    ],
    locktime: 0,
  };
  const all = [coinbase, ...txs];
  return {
    header: {
      version: t.version,
      prevHash: fromHex(t.previousblockhash).reverse(),
      merkleRoot: merkleRoot(all.map(txid)).root,
      time: t.curtime,
      bits: chain.nextBits(),
      nonce: 0,
    },
    txs: all,
  };
}
