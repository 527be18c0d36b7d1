/**
 * Helpers for the engine's integration tests: regtest payout addresses, a
 * connected-and-authorized Stratum miner, mining one share with the CPU
 * miner from lib/stratum, and reading the coinbase of a mined block.
 */

import {
  base58CheckEncode,
  encodeSegwitAddress,
  fromHex,
  NETWORKS,
  toHex,
} from "../bitcoin/mod.ts";
import type { BitcoinNode } from "./bitcoin_node.ts";
import type { Engine } from "./engine.ts";
import { waitFor } from "../ports.ts";
import { StratumClient } from "../stratum/client.ts";
import { type Job, mine, type MinedShare } from "../stratum/job.ts";

export type AddressKind = "p2wpkh" | "p2tr" | "p2pkh";

/** A fresh random regtest address of the given kind. */
export function regtestAddress(kind: AddressKind = "p2wpkh"): string {
  const random = (n: number) => crypto.getRandomValues(new Uint8Array(n));
  switch (kind) {
    case "p2wpkh":
      return encodeSegwitAddress(NETWORKS.regtest.hrp, 0, random(20));
    case "p2tr":
      return encodeSegwitAddress(NETWORKS.regtest.hrp, 1, random(32));
    case "p2pkh": {
      const payload = new Uint8Array(21);
      payload[0] = NETWORKS.regtest.p2pkh;
      payload.set(random(20), 1);
      return base58CheckEncode(payload);
    }
  }
}

export interface MinerOptions {
  worker?: string;
  /** Ask for BIP 310 version rolling before subscribing. */
  versionRolling?: boolean;
  userAgent?: string;
}

/** A client that configured (optionally), subscribed and authorized, with its first job. */
export async function connectMiner(
  engine: Engine,
  address: string,
  opts: MinerOptions = {},
): Promise<{ client: StratumClient; job: Job }> {
  const client = await StratumClient.connect({ port: engine.stratumPort });
  if (opts.versionRolling) {
    const { error } = await client.configureVersionRolling("ffffffff");
    if (error) throw new Error(`mining.configure failed: ${error.message}`);
  }
  await client.subscribe(opts.userAgent ?? "engine-test/1.0");
  const user = opts.worker ? `${address}.${opts.worker}` : address;
  const { result, error } = await client.authorize(user);
  if (result !== true) throw new Error(`authorize failed: ${JSON.stringify(error)}`);
  const job = await client.nextNotify();
  return { client, job };
}

/** Mines a share for `job` at the client's current difficulty (or `difficulty`). */
export function mineShare(
  client: StratumClient,
  job: Job,
  opts: {
    difficulty?: number;
    extranonce2Start?: bigint;
    maxHashes?: number;
    nonceStart?: number;
    ntime?: number;
  } = {},
): MinedShare {
  const difficulty = opts.difficulty ?? client.currentDifficulty;
  const share = mine(job, difficulty, {
    extranonce1: fromHex(client.extranonce1),
    extranonce2Size: client.extranonce2Size,
    versionMask: client.versionMask,
    extranonce2Start: opts.extranonce2Start ?? BigInt(Math.floor(Math.random() * 1e9)),
    maxHashes: opts.maxHashes ?? 5_000_000,
    nonceStart: opts.nonceStart,
    ntime: opts.ntime,
  });
  if (!share) throw new Error(`no share found at difficulty ${difficulty}`);
  return share;
}

/** Submits a mined share; returns the Stratum outcome. */
export function submitShare(client: StratumClient, worker: string, share: MinedShare) {
  return client.submit(
    worker,
    share.jobId,
    share.extranonce2Hex,
    share.ntimeHex,
    share.nonceHex,
    share.versionBitsHex,
  );
}

export interface BlockJson {
  hash: string;
  height: number;
  version: number;
  tx: Array<{
    txid: string;
    vin: Array<{ coinbase?: string }>;
    vout: Array<{ value: number; scriptPubKey: { address?: string; hex: string } }>;
  }>;
}

/** Waits for the chain to reach `height`; returns the block there (verbosity 2). */
export async function blockAt(node: BitcoinNode, height: number): Promise<BlockJson> {
  await waitFor(async () => (await node.rpc<number>("getblockcount")) >= height, {
    what: `block height ${height}`,
  });
  const hash = await node.rpc<string>("getblockhash", [height]);
  return await node.rpc<BlockJson>("getblock", [hash, 2]);
}

/** Satoshis from a BTC amount as getblock prints it. */
export function sats(btc: number): number {
  return Math.round(btc * 1e8);
}

/** Hex of an ASCII string, to find a signature inside a coinbase scriptSig. */
export function asciiHex(text: string): string {
  return [...new TextEncoder().encode(text)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/** Display-order hex of a job's previous block hash (as RPC prints block hashes). */
export function prevhashHex(job: Job): string {
  return toHex(job.prevhash.slice().reverse());
}

/**
 * Matches a job that builds on another tip than `previous`. After a block the
 * engine may send the clean job and then a refresh for the same tip before a
 * test looks, so "the current job is clean" is not a reliable signal; a new
 * previous-block hash is.
 */
export function onNewTip(previous: Job): (job: Job) => boolean {
  const before = toHex(previous.prevhash);
  return (job) => toHex(job.prevhash) !== before;
}
