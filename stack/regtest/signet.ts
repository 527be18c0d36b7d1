/**
 * BIP 325 signet block solutions, for the one challenge this node can verify:
 * `51` (OP_TRUE). The solution sits in the coinbase's witness commitment
 * output as a push starting with the 4-byte signet header; it is a scriptSig
 * and a witness stack that must satisfy the challenge. Without such a push the
 * solution is empty. Bitcoin Core requires the witness commitment output even
 * then, so a block without one is invalid on every signet.
 *
 * Under OP_TRUE a solution is valid when its scriptSig runs without error and
 * its witness stack is empty (the challenge is no witness program, so any
 * witness is unexpected). This node evaluates push-only scriptSigs exactly as
 * a script interpreter would; it has no interpreter for other opcodes, so a
 * scriptSig with one is refused, never accepted unverified.
 */
import { type Block, findWitnessCommitment, parseScript, Reader } from "../../lib/bitcoin/mod.ts";

const SIGNET_HEADER = Uint8Array.of(0xec, 0xc7, 0xda, 0xa2);
const OP_TRUE_CHALLENGE = Uint8Array.of(0x51);
const MAX_SCRIPT_SIZE = 10_000;
const MAX_SCRIPT_ELEMENT_SIZE = 520;
const MAX_STACK_SIZE = 1_000;
const OP_PUSHDATA4 = 0x4e;
const OP_1NEGATE = 0x4f;
const OP_RESERVED = 0x50;
const OP_16 = 0x60;

/** Whether this node can verify block solutions for `challenge` (only OP_TRUE). */
export function canVerifyChallenge(challenge: Uint8Array): boolean {
  return challenge.length === OP_TRUE_CHALLENGE.length && challenge[0] === OP_TRUE_CHALLENGE[0];
}

export interface SignetSolution {
  scriptSig: Uint8Array;
  witness: Uint8Array[];
}

/**
 * The block's signet solution, or a reason it has none that can be read: no
 * coinbase, no witness commitment, or solution bytes that do not parse as
 * exactly a scriptSig and a witness stack.
 */
export function extractSolution(block: Block): SignetSolution | string {
  const coinbase = block.txs[0];
  if (!coinbase) return "no coinbase";
  const pos = findWitnessCommitment(coinbase);
  if (pos < 0) return "no witness commitment in the coinbase";
  // Ops up to the first malformed one count, as a script parser stops there.
  const { ops } = parseScript(coinbase.vout[pos].scriptPubKey);
  const push = ops.find((op) =>
    op.data !== undefined && op.data.length > SIGNET_HEADER.length &&
    SIGNET_HEADER.every((b, i) => op.data?.[i] === b)
  );
  if (!push?.data) return { scriptSig: new Uint8Array(0), witness: [] };
  const r = new Reader(push.data.subarray(SIGNET_HEADER.length), "signet solution");
  try {
    const scriptSig = r.varBytes();
    const witness: Uint8Array[] = [];
    const items = r.varInt();
    for (let i = 0; i < items; i++) witness.push(r.varBytes());
    if (r.remaining !== 0) return `signet solution has ${r.remaining} extra bytes`;
    return { scriptSig, witness };
  } catch (error) {
    return `signet solution does not parse: ${(error as Error).message}`;
  }
}

/** Runs a push-only scriptSig; returns the stack depth or why it fails. */
function runPushOnly(script: Uint8Array): number | string {
  if (script.length > MAX_SCRIPT_SIZE) return "scriptSig larger than 10000 bytes";
  const { ops, ok } = parseScript(script);
  let depth = 0;
  for (const op of ops) {
    if (op.opcode === OP_RESERVED) return "scriptSig executes OP_RESERVED";
    if (op.opcode > OP_16) {
      return `scriptSig has opcode 0x${op.opcode.toString(16)}: this node evaluates push-only ` +
        "scriptSigs only";
    }
    if (op.opcode <= OP_PUSHDATA4 && (op.data?.length ?? 0) > MAX_SCRIPT_ELEMENT_SIZE) {
      return "scriptSig pushes more than 520 bytes";
    }
    if (op.opcode <= OP_PUSHDATA4 || op.opcode === OP_1NEGATE || op.opcode > OP_RESERVED) depth++;
    if (depth > MAX_STACK_SIZE) return "stack larger than 1000 items";
  }
  if (!ok) return "scriptSig has a push past its end";
  return depth;
}

/** BIP 325 under the OP_TRUE challenge: null when valid, else why not. */
export function checkOpTrueSolution(block: Block): string | null {
  const solution = extractSolution(block);
  if (typeof solution === "string") return solution;
  const depth = runPushOnly(solution.scriptSig);
  if (typeof depth === "string") return depth;
  // OP_TRUE pushes one more item.
  if (depth + 1 > MAX_STACK_SIZE) return "stack larger than 1000 items";
  if (solution.witness.length > 0) {
    return "witness given for a challenge that is no witness program";
  }
  return null;
}
