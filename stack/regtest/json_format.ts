/**
 * Blocks, headers and transactions as bitcoind's RPCs render them
 * (getblock verbosity 1/2, getblockheader, decoded transactions).
 */
import {
  bitsToHex,
  type Block,
  blockSizes,
  classifyScript,
  decodeBits,
  difficulty,
  hashToHex,
  isCoinbase,
  type Network,
  NETWORKS,
  scriptToAddress,
  scriptToAsm,
  serializeTx,
  targetToHex,
  toHex,
  type Tx,
  txid,
  txSizes,
  wtxid,
} from "../../lib/bitcoin/mod.ts";
import type { BlockIndex, Chain } from "./chain.ts";
import { btc } from "./rpc_util.ts";

function chainworkHex(work: bigint): string {
  return work.toString(16).padStart(64, "0");
}

export function headerJson(chain: Chain, e: BlockIndex): Record<string, unknown> {
  const h = e.header;
  const next = chain.isActive(e) ? chain.active[e.height + 1] : undefined;
  const out: Record<string, unknown> = {
    hash: e.hash,
    confirmations: chain.isActive(e) ? chain.height - e.height + 1 : -1,
    height: e.height,
    version: h.version,
    versionHex: (h.version >>> 0).toString(16).padStart(8, "0"),
    merkleroot: hashToHex(h.merkleRoot),
    time: h.time,
    mediantime: chain.medianTimePast(e),
    nonce: h.nonce,
    bits: bitsToHex(h.bits),
    target: targetToHex(decodeBits(h.bits).target),
    difficulty: difficulty(h.bits),
    chainwork: chainworkHex(e.chainWork),
    nTx: e.data ? chain.blockOf(e).txs.length : 0,
  };
  if (e.prev) out.previousblockhash = e.prev.hash;
  if (next) out.nextblockhash = next.hash;
  return out;
}

export function scriptPubKeyJson(
  script: Uint8Array,
  net: Network = NETWORKS.regtest,
): Record<string, unknown> {
  const out: Record<string, unknown> = { asm: scriptToAsm(script), hex: toHex(script) };
  const address = scriptToAddress(script, net);
  if (address) out.address = address;
  out.type = classifyScript(script).type;
  return out;
}

export function txJson(
  tx: Tx,
  withHex = true,
  net: Network = NETWORKS.regtest,
): Record<string, unknown> {
  const sizes = txSizes(tx);
  const out: Record<string, unknown> = {
    txid: hashToHex(txid(tx)),
    hash: hashToHex(wtxid(tx)),
    version: tx.version,
    size: sizes.size,
    vsize: sizes.vsize,
    weight: sizes.weight,
    locktime: tx.locktime,
    vin: tx.vin.map((input) => {
      const v: Record<string, unknown> = isCoinbase(tx) ? { coinbase: toHex(input.scriptSig) } : {
        txid: hashToHex(input.prevout.hash),
        vout: input.prevout.index,
        scriptSig: { asm: scriptToAsm(input.scriptSig), hex: toHex(input.scriptSig) },
      };
      if (input.witness.length > 0) v.txinwitness = input.witness.map(toHex);
      v.sequence = input.sequence;
      return v;
    }),
    vout: tx.vout.map((o, n) => ({
      value: btc(o.value),
      n,
      scriptPubKey: scriptPubKeyJson(o.scriptPubKey, net),
    })),
  };
  if (withHex) out.hex = toHex(serializeTx(tx, true));
  return out;
}

export function blockJson(
  chain: Chain,
  e: BlockIndex,
  block: Block,
  verbosity: number,
): Record<string, unknown> {
  const sizes = blockSizes(block);
  const header = headerJson(chain, e);
  const { nTx, previousblockhash, nextblockhash, ...rest } = header;
  const out: Record<string, unknown> = {
    ...rest,
    nTx,
    ...(previousblockhash ? { previousblockhash } : {}),
    ...(nextblockhash ? { nextblockhash } : {}),
    strippedsize: sizes.strippedSize,
    size: sizes.size,
    weight: sizes.weight,
    tx: verbosity >= 2
      ? block.txs.map((tx) => txJson(tx, true, chain.params.network))
      : block.txs.map((tx) => hashToHex(txid(tx))),
  };
  return out;
}
