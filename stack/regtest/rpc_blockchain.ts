/** Blockchain RPCs: chain state, blocks, headers, difficulty, mempool listing. */
import {
  bitsToHex,
  decodeBits,
  difficulty,
  serializeHeader,
  targetToHex,
  toHex,
} from "../../lib/bitcoin/mod.ts";
import type { BlockIndex } from "./chain.ts";
import type { NodeContext, RpcMethod } from "./context.ts";
import { blockJson, headerJson } from "./json_format.ts";
import { asBool, asHash, asInt, btc, isMissing, requireParam, RPC, RpcError } from "./rpc_util.ts";

function lookup(ctx: NodeContext, hash: string): BlockIndex {
  const entry = ctx.chain.index.get(hash);
  if (!entry || entry.status === "invalid" && !entry.data) {
    throw new RpcError(RPC.INVALID_ADDRESS_OR_KEY, "Block not found");
  }
  return entry;
}

/** Like bitcoind: the chain counts as syncing until the tip is less than a day old. */
let leftInitialDownload = false;
function initialBlockDownload(ctx: NodeContext): boolean {
  if (!leftInitialDownload && ctx.chain.tip.header.time > Date.now() / 1000 - 24 * 3600) {
    leftInitialDownload = true;
  }
  return !leftInitialDownload;
}

function pruneFields(ctx: NodeContext): Record<string, unknown> {
  if (ctx.config.prune === 0) return { pruned: false };
  const out: Record<string, unknown> = {
    pruned: true,
    // Every block is still on disk: a regtest chain never reaches the prune target.
    pruneheight: 0,
    automatic_pruning: ctx.config.prune > 1,
  };
  if (ctx.config.prune > 1) out.prune_target_size = ctx.config.prune * 1024 * 1024;
  return out;
}

/** On signet, getblockchaininfo and getmininginfo name the challenge. */
export function signetFields(ctx: NodeContext): Record<string, string> {
  const challenge = ctx.chain.params.signetChallenge;
  return challenge ? { signet_challenge: toHex(challenge) } : {};
}

export const blockchainMethods: Record<string, RpcMethod> = {
  getblockchaininfo: {
    params: [],
    run: (ctx) => {
      const tip = ctx.chain.tip;
      return {
        chain: ctx.chain.params.name,
        blocks: ctx.chain.height,
        headers: ctx.chain.bestHeaderHeight,
        bestblockhash: tip.hash,
        bits: bitsToHex(tip.header.bits),
        target: targetToHex(decodeBits(tip.header.bits).target),
        difficulty: difficulty(tip.header.bits),
        time: tip.header.time,
        mediantime: ctx.chain.medianTimePast(tip),
        verificationprogress: 1,
        initialblockdownload: initialBlockDownload(ctx),
        chainwork: tip.chainWork.toString(16).padStart(64, "0"),
        size_on_disk: ctx.chain.storeSize,
        ...pruneFields(ctx),
        ...signetFields(ctx),
        warnings: [],
      };
    },
  },
  getbestblockhash: { params: [], run: (ctx) => ctx.chain.tip.hash },
  getblockcount: { params: [], run: (ctx) => ctx.chain.height },
  getdifficulty: { params: [], run: (ctx) => difficulty(ctx.chain.tip.header.bits) },
  getblockhash: {
    params: ["height"],
    required: 1,
    run: (ctx, p) => {
      const height = asInt(requireParam(p, 0, "height"));
      if (height < 0 || height > ctx.chain.height) {
        throw new RpcError(RPC.INVALID_PARAMETER, "Block height out of range");
      }
      return ctx.chain.active[height].hash;
    },
  },
  getblockheader: {
    params: ["blockhash", "verbose"],
    required: 1,
    run: (ctx, p) => {
      const entry = lookup(ctx, asHash(requireParam(p, 0, "blockhash"), "hash"));
      const verbose = isMissing(p[1]) ? true : asBool(p[1]);
      if (!verbose) return toHex(serializeHeader(entry.header));
      return headerJson(ctx.chain, entry);
    },
  },
  getblock: {
    params: ["blockhash", "verbosity"],
    required: 1,
    run: (ctx, p) => {
      const entry = lookup(ctx, asHash(requireParam(p, 0, "blockhash"), "blockhash"));
      let verbosity = 1;
      if (typeof p[1] === "boolean") verbosity = p[1] ? 1 : 0;
      else if (!isMissing(p[1])) verbosity = asInt(p[1]);
      if (!entry.data) {
        throw new RpcError(RPC.MISC_ERROR, "Block not available (not fully downloaded)");
      }
      if (verbosity <= 0) return toHex(entry.data);
      return blockJson(ctx.chain, entry, ctx.chain.blockOf(entry), verbosity);
    },
  },
  getrawmempool: {
    params: ["verbose", "mempool_sequence"],
    run: (ctx, p) => {
      const verbose = isMissing(p[0]) ? false : asBool(p[0]);
      const entries = ctx.mempool.list();
      if (!verbose) return entries.map((e) => e.txid);
      return Object.fromEntries(entries.map((e) => [e.txid, {
        vsize: e.vsize,
        weight: e.weight,
        time: e.time,
        height: e.height,
        wtxid: e.wtxid,
        fees: { base: btc(e.fee), modified: btc(e.fee) },
        depends: [...e.parents],
      }]));
    },
  },
  getmempoolinfo: {
    params: [],
    run: (ctx) => {
      const entries = ctx.mempool.list();
      return {
        loaded: true,
        size: entries.length,
        bytes: entries.reduce((n, e) => n + e.vsize, 0),
        total_fee: btc(entries.reduce((n, e) => n + e.fee, 0n)),
      };
    },
  },
};
