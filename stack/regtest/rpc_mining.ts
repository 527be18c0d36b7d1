/**
 * Mining RPCs: getblocktemplate (BIP 22/23, longpoll, proposals),
 * submitblock, getmininginfo, generatetoaddress and the test-only
 * fillmempool.
 */
import {
  bitsToHex,
  type Block,
  blockHashHex,
  decodeAddress,
  decodeBits,
  difficulty,
  fromHex,
  hashToHex,
  parseBlockPrefix,
  targetToHex,
} from "../../lib/bitcoin/mod.ts";
import type { NodeContext, RpcMethod } from "./context.ts";
import { fillMempool } from "./mempool.ts";
import { grind } from "./miner.ts";
import { assembleBlock, buildTemplate, selectTransactions } from "./template.ts";
import { signetFields } from "./rpc_blockchain.ts";
import { addDefaultWitnessNonce } from "./validate.ts";
import {
  asInt,
  asObject,
  asString,
  isMissing,
  jsonTypeName,
  requireParam,
  RPC,
  RpcError,
} from "./rpc_util.ts";

const SEGWIT_RULE_ERROR =
  'getblocktemplate must be called with the segwit rule set (call with {"rules": ["segwit"]})';
const SIGNET_RULE_ERROR = "getblocktemplate must be called with the signet rule set " +
  '(call with {"rules": ["segwit", "signet"]})';
const LONGPOLL_MEMPOOL_WAIT_MS = 60_000;

/**
 * Decodes a block as bitcoind's DecodeHexBlk does: non-empty even-length hex,
 * a block that deserializes; bytes after the block are ignored.
 */
function decodeBlockHex(data: unknown): Block {
  const hex = asString(data);
  try {
    return parseBlockPrefix(fromHex(hex, "block"), "block");
  } catch {
    throw new RpcError(RPC.DESERIALIZATION_ERROR, "Block decode failed");
  }
}

/** The client's rules; like bitcoind, a non-array is no rules and a non-string is a type error. */
function clientRules(request: Record<string, unknown>): Set<string> {
  const rules = new Set<string>();
  if (!Array.isArray(request.rules)) return rules;
  for (const rule of request.rules) {
    if (typeof rule !== "string") {
      throw new RpcError(
        RPC.TYPE_ERROR,
        `JSON value of type ${jsonTypeName(rule)} is not of expected type string`,
      );
    }
    rules.add(rule);
  }
  return rules;
}

/** Waits until the tip moves, or the mempool changed and a minute passed, or shutdown. */
async function waitForLongpoll(ctx: NodeContext, longpollid: string): Promise<void> {
  const tipHash = longpollid.slice(0, 64);
  const updates = Number(longpollid.slice(64));
  const started = Date.now();
  while (!ctx.stopping && ctx.chain.tip.hash === tipHash) {
    if (Date.now() - started >= LONGPOLL_MEMPOOL_WAIT_MS && ctx.mempool.updates !== updates) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, 1_000);
      const off = ctx.chain.onTip(done);
      function done() {
        clearTimeout(timer);
        off();
        resolve();
      }
    });
  }
  if (ctx.stopping) throw new RpcError(RPC.CLIENT_NOT_CONNECTED, "Shutting down");
}

async function getBlockTemplate(ctx: NodeContext, p: unknown[]): Promise<unknown> {
  const request = isMissing(p[0]) ? {} : asObject(p[0]);
  if (!isMissing(request.mode) && typeof request.mode !== "string") {
    throw new RpcError(RPC.INVALID_PARAMETER, "Invalid mode");
  }
  const mode = isMissing(request.mode) ? "template" : request.mode as string;
  if (mode === "proposal") {
    if (typeof request.data !== "string") {
      throw new RpcError(RPC.TYPE_ERROR, "Missing data String key for proposal");
    }
    const block = decodeBlockHex(request.data);
    const entry = ctx.chain.index.get(blockHashHex(block.header));
    if (entry) {
      if (entry.status === "invalid") return "duplicate-invalid";
      return ctx.chain.isActive(entry) ? "duplicate" : "duplicate-inconclusive";
    }
    return ctx.chain.test(block);
  }
  const rules = clientRules(request);
  if (mode !== "template") throw new RpcError(RPC.INVALID_PARAMETER, "Invalid mode");
  if (!isMissing(request.longpollid)) {
    await waitForLongpoll(ctx, asString(request.longpollid));
  }
  // bitcoind checks the rules after a longpoll wait, signet's first, on every chain.
  if (ctx.chain.params.signetChallenge && !rules.has("signet")) {
    throw new RpcError(RPC.INVALID_PARAMETER, SIGNET_RULE_ERROR);
  }
  if (!rules.has("segwit")) throw new RpcError(RPC.INVALID_PARAMETER, SEGWIT_RULE_ERROR);
  return buildTemplate(ctx.chain);
}

function submitBlock(ctx: NodeContext, p: unknown[]): string | null {
  // A block without a coinbase first is no decode error: validation answers bad-cb-missing.
  const block = decodeBlockHex(requireParam(p, 0, "hexdata"));
  // As bitcoind: with a known parent, a committed coinbase lacking its witness gets the default.
  if (ctx.chain.index.has(hashToHex(block.header.prevHash))) addDefaultWitnessNonce(block);
  return ctx.submitBlock(block);
}

async function generateToAddress(ctx: NodeContext, p: unknown[]): Promise<string[]> {
  const count = asInt(requireParam(p, 0, "nblocks"));
  const address = asString(requireParam(p, 1, "address"));
  let maxTries = isMissing(p[2]) ? 1_000_000 : asInt(p[2]);
  let payTo: Uint8Array;
  try {
    payTo = decodeAddress(address, ctx.chain.params.network).scriptPubKey;
  } catch {
    throw new RpcError(RPC.INVALID_ADDRESS_OR_KEY, "Error: Invalid address");
  }
  const hashes: string[] = [];
  while (hashes.length < count && maxTries > 0 && !ctx.stopping) {
    const { block, tries } = await grind(
      assembleBlock(ctx.chain, payTo),
      maxTries,
      () => ctx.stopping,
    );
    maxTries -= tries;
    if (!block) break;
    const result = ctx.submitBlock(block);
    if (result !== null) {
      // The tip moved while grinding (a peer's block): mine on the new tip.
      if (result === "inconclusive" || result === "prev-blk-not-found") continue;
      throw new RpcError(RPC.INTERNAL_ERROR, `ProcessNewBlock, block not accepted: ${result}`);
    }
    hashes.push(blockHashHex(block.header));
  }
  return hashes;
}

export const miningMethods: Record<string, RpcMethod> = {
  getblocktemplate: { params: ["template_request"], required: 1, run: getBlockTemplate },
  submitblock: { params: ["hexdata", "dummy"], required: 1, run: submitBlock },
  generatetoaddress: {
    params: ["nblocks", "address", "maxtries"],
    required: 2,
    run: generateToAddress,
  },
  getmininginfo: {
    params: [],
    run: (ctx) => {
      const tipBits = ctx.chain.tip.header.bits;
      const nextBits = ctx.chain.nextBits();
      const next = selectTransactions(ctx.chain);
      return {
        blocks: ctx.chain.height,
        currentblockweight: next.reduce((n, e) => n + e.weight, 4000),
        currentblocktx: next.length,
        bits: bitsToHex(tipBits),
        difficulty: difficulty(tipBits),
        target: targetToHex(decodeBits(tipBits).target),
        networkhashps: 0,
        pooledtx: ctx.mempool.size,
        blockmintxfee: 0.00000001,
        chain: ctx.chain.params.name,
        next: {
          height: ctx.chain.height + 1,
          bits: bitsToHex(nextBits),
          difficulty: difficulty(nextBits),
          target: targetToHex(decodeBits(nextBits).target),
        },
        ...signetFields(ctx),
        warnings: [],
      };
    },
  },
  fillmempool: {
    params: ["count"],
    required: 1,
    run: (ctx, p) => {
      const count = asInt(requireParam(p, 0, "count"));
      if (count < 1 || count > 10_000) {
        throw new RpcError(RPC.INVALID_PARAMETER, "count must be between 1 and 10000");
      }
      return fillMempool(ctx.mempool, count, ctx.chain.height);
    },
  },
};
