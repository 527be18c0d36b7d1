/**
 * Real transactions in a node's mempool, on the stand-in node and on
 * bitcoind alike: coinbases paid to a P2WSH of the script OP_TRUE (anyone
 * can spend it, with the script as its only witness item), buried under 100
 * blocks so they are mature, then spent one transaction each with
 * sendrawtransaction. Every step is ordinary consensus and policy, so both
 * nodes accept the transactions and blocks that confirm them.
 */

import {
  encodeSegwitAddress,
  fromHex,
  NETWORKS,
  reversed,
  serializeTx,
  sha256,
  toHex,
  type Tx,
} from "../../lib/bitcoin/mod.ts";
import { nodeRpc } from "./_rpc.ts";
import type { RegionEndpoints } from "../../lib/harness/system.ts";

/** The witness script OP_TRUE. */
const OP_TRUE_SCRIPT = Uint8Array.of(0x51);
/** P2WSH output script: OP_0 <sha256(witness script)>. */
const OP_TRUE_P2WSH = Uint8Array.of(0x00, 0x20, ...sha256(OP_TRUE_SCRIPT));
/** Where coinbases go to be spent later (regtest). */
export const OP_TRUE_ADDRESS = encodeSegwitAddress(
  NETWORKS.regtest.hrp,
  0,
  sha256(OP_TRUE_SCRIPT),
);
/** Blocks on top of a coinbase before it may be spent (consensus). */
const COINBASE_MATURITY = 100;
/** Fee of each spend, satoshis (about 10 sat/vB: above any default relay minimum). */
const FEE_SAT = 1_000n;

interface BlockVerbose {
  tx: Array<{ txid: string; vout: Array<{ value: number }> }>;
}

/** A transaction spending output 0 of coinbase `coinbaseTxid` (worth `valueSat`). */
function spendOpTrue(coinbaseTxid: string, valueSat: bigint): Tx {
  return {
    version: 2,
    vin: [{
      prevout: { hash: reversed(fromHex(coinbaseTxid)), index: 0 },
      scriptSig: new Uint8Array(0),
      sequence: 0xfffffffd,
      witness: [OP_TRUE_SCRIPT],
    }],
    vout: [{ value: valueSat - FEE_SAT, scriptPubKey: OP_TRUE_P2WSH }],
    locktime: 0,
  };
}

/** A coinbase output 0 paid to OP_TRUE_ADDRESS. */
export interface SpendableCoinbase {
  txid: string;
  valueSat: bigint;
}

/**
 * Mines `count` coinbases to OP_TRUE_ADDRESS on `node`, and COINBASE_MATURITY
 * blocks (to `payout`) over them so the next block may spend them.
 */
export async function matureOpTrueCoinbases(
  node: Pick<RegionEndpoints, "name" | "rpc">,
  count: number,
  payout: string,
): Promise<SpendableCoinbase[]> {
  const hashes = await nodeRpc<string[]>(node, "generatetoaddress", [count, OP_TRUE_ADDRESS]);
  await nodeRpc<string[]>(node, "generatetoaddress", [COINBASE_MATURITY, payout]);
  const coinbases: SpendableCoinbase[] = [];
  for (const hash of hashes) {
    const { tx: [coinbase] } = await nodeRpc<BlockVerbose>(node, "getblock", [hash, 2]);
    coinbases.push({
      txid: coinbase.txid,
      valueSat: BigInt(Math.round(coinbase.vout[0].value * 1e8)),
    });
  }
  return coinbases;
}

/** Puts one spend of each coinbase into `node`'s mempool; the txids it answered (display order). */
export async function spendIntoMempool(
  node: Pick<RegionEndpoints, "name" | "rpc">,
  coinbases: SpendableCoinbase[],
): Promise<string[]> {
  const txids: string[] = [];
  for (const { txid, valueSat } of coinbases) {
    const raw = toHex(serializeTx(spendOpTrue(txid, valueSat)));
    txids.push(await nodeRpc<string>(node, "sendrawtransaction", [raw]));
  }
  return txids;
}
