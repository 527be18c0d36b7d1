/** Shared pieces of the regtest node tests: registration, node lifetime, templates. */
import {
  type BitcoinNode,
  type BitcoinNodeKind,
  bitcoinNodeKind,
  type BitcoinNodeOptions,
  RpcCallError,
  startBitcoinNode,
} from "../../lib/harness/bitcoin_node.ts";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import type { BlockSpec } from "./block_builder.ts";
import { assertEquals } from "../assert.ts";

/**
 * Registers a node test. `only` restricts it to one implementation (e.g. a
 * test of -testbits or fillmempool); on the other it is reported ignored.
 */
export function nodeTest(
  name: string,
  fn: (t: Deno.TestContext) => Promise<void>,
  only?: BitcoinNodeKind,
): void {
  let kind: BitcoinNodeKind = "regtest-ts";
  try {
    kind = bitcoinNodeKind();
  } catch {
    // no env permission: requires() reports the test ignored anyway
  }
  if (only && only !== kind) {
    Deno.test({
      name: `${name} [ignored: needs the ${only} node, running ${kind}]`,
      ignore: true,
      fn() {},
    });
    return;
  }
  requires({
    name,
    permissions: SERVICE_PERMISSIONS,
    fn,
    sanitizeResources: false,
    sanitizeOps: false,
  });
}

/** Runs `fn` with started nodes, stopping all of them even when it throws. */
export async function withNodes(
  options: BitcoinNodeOptions[],
  fn: (...nodes: BitcoinNode[]) => Promise<void>,
): Promise<void> {
  const nodes: BitcoinNode[] = [];
  try {
    for (const o of options) nodes.push(await startBitcoinNode(o));
    await fn(...nodes);
  } finally {
    await Promise.all(nodes.map((n) => n.stop()));
  }
}

export interface Template {
  previousblockhash: string;
  height: number;
  curtime: number;
  mintime: number;
  bits: string;
  target: string;
  coinbasevalue: number;
  default_witness_commitment: string;
  longpollid: string;
  transactions: {
    data: string;
    txid: string;
    hash: string;
    depends: number[];
    fee: number;
    sigops: number;
    weight: number;
  }[];
  [key: string]: unknown;
}

/** A template with the rules the chain needs (segwit; on signet also signet). */
export function getTemplate(node: BitcoinNode, rules = ["segwit"]): Promise<Template> {
  return node.rpc<Template>("getblocktemplate", [{ rules }]);
}

/** A block spec for the next block on `node`'s tip, with no transactions. */
export async function nextSpec(node: BitcoinNode, rules = ["segwit"]): Promise<BlockSpec> {
  const t = await getTemplate(node, rules);
  return {
    prevHash: t.previousblockhash,
    height: t.height,
    time: t.curtime,
    bits: t.bits,
    coinbaseValue: BigInt(t.coinbasevalue),
  };
}

/** Expects `promise` to fail with this RPC error code (and message when given). */
export async function assertRpcError(
  promise: Promise<unknown>,
  code: number,
  message?: string,
): Promise<void> {
  try {
    await promise;
  } catch (error) {
    if (!(error instanceof RpcCallError)) throw new Error(`expected an RPC error, got ${error}`);
    assertEquals(error.code, code, error.message);
    if (message !== undefined) assertEquals(error.rpcMessage, message);
    return;
  }
  throw new Error(`expected RPC error ${code}, but the call succeeded`);
}

/** Runs the stand-in node's command line to its exit (for start-up errors). */
export async function runNode(args: string[]): Promise<{ code: number; stderr: string }> {
  const main = new URL("../../stack/regtest/main.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-net", "--allow-read", "--allow-write", main, ...args],
    stdout: "null",
    stderr: "piped",
  }).output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

/** A regtest P2WPKH address (BIP 173 test program) for generatetoaddress. */
export const TEST_ADDRESS = "bcrt1qw508d6qejxtdg4y5r3zarvary0c5xw7kygt080";
