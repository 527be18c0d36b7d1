/**
 * Script helpers: parsing into ops, ASM text as Bitcoin Core prints it,
 * output type classification, script numbers, the BIP 34 height push and
 * legacy signature-operation counting.
 */
import { concat, equalBytes, toHex } from "./bytes.ts";

const NAMES: Record<number, string> = {
  0x4c: "OP_PUSHDATA1",
  0x4d: "OP_PUSHDATA2",
  0x4e: "OP_PUSHDATA4",
  0x4f: "-1",
  0x50: "OP_RESERVED",
};
// Opcodes 0x61..0xba in order, as named by the Script reference.
const FROM_0X61 = (
  "NOP VER IF NOTIF VERIF VERNOTIF ELSE ENDIF VERIFY RETURN TOALTSTACK FROMALTSTACK 2DROP 2DUP " +
  "3DUP 2OVER 2ROT 2SWAP IFDUP DEPTH DROP DUP NIP OVER PICK ROLL ROT SWAP TUCK CAT SUBSTR LEFT " +
  "RIGHT SIZE INVERT AND OR XOR EQUAL EQUALVERIFY RESERVED1 RESERVED2 1ADD 1SUB 2MUL 2DIV NEGATE " +
  "ABS NOT 0NOTEQUAL ADD SUB MUL DIV MOD LSHIFT RSHIFT BOOLAND BOOLOR NUMEQUAL NUMEQUALVERIFY " +
  "NUMNOTEQUAL LESSTHAN GREATERTHAN LESSTHANOREQUAL GREATERTHANOREQUAL MIN MAX WITHIN RIPEMD160 " +
  "SHA1 SHA256 HASH160 HASH256 CODESEPARATOR CHECKSIG CHECKSIGVERIFY CHECKMULTISIG " +
  "CHECKMULTISIGVERIFY NOP1 CHECKLOCKTIMEVERIFY CHECKSEQUENCEVERIFY NOP4 NOP5 NOP6 NOP7 NOP8 NOP9 " +
  "NOP10 CHECKSIGADD"
).split(" ");
FROM_0X61.forEach((name, i) => (NAMES[0x61 + i] = `OP_${name}`));
for (let n = 1; n <= 16; n++) NAMES[0x50 + n] = String(n);

export const OP = {
  OP_0: 0x00,
  OP_1: 0x51,
  OP_16: 0x60,
  OP_RETURN: 0x6a,
  OP_DUP: 0x76,
  OP_EQUAL: 0x87,
  OP_EQUALVERIFY: 0x88,
  OP_HASH160: 0xa9,
  OP_CHECKSIG: 0xac,
  OP_CHECKSIGVERIFY: 0xad,
  OP_CHECKMULTISIG: 0xae,
  OP_CHECKMULTISIGVERIFY: 0xaf,
} as const;

export interface ScriptOp {
  opcode: number;
  /** Pushed data for push opcodes (0x00..0x4e), else undefined. */
  data?: Uint8Array;
}

/** Parses a script into ops; `ok` is false when a push runs past the end. */
export function parseScript(script: Uint8Array): { ops: ScriptOp[]; ok: boolean } {
  const ops: ScriptOp[] = [];
  let i = 0;
  while (i < script.length) {
    const opcode = script[i++];
    if (opcode > 0x4e) {
      ops.push({ opcode });
      continue;
    }
    let len = opcode;
    if (opcode === 0x4c) {
      if (i + 1 > script.length) return { ops, ok: false };
      len = script[i];
      i += 1;
    } else if (opcode === 0x4d) {
      if (i + 2 > script.length) return { ops, ok: false };
      len = script[i] | (script[i + 1] << 8);
      i += 2;
    } else if (opcode === 0x4e) {
      if (i + 4 > script.length) return { ops, ok: false };
      len = (script[i] | (script[i + 1] << 8) | (script[i + 2] << 16) | (script[i + 3] << 24)) >>>
        0;
      i += 4;
    }
    if (i + len > script.length) return { ops, ok: false };
    ops.push({ opcode, data: script.slice(i, i + len) });
    i += len;
  }
  return { ops, ok: true };
}

/** Decodes a (non-minimal allowed) script number of up to 8 bytes. */
export function decodeScriptNum(bytes: Uint8Array): number {
  if (bytes.length === 0) return 0;
  let v = 0;
  for (let i = 0; i < bytes.length; i++) v += bytes[i] * 2 ** (8 * i);
  const last = bytes[bytes.length - 1];
  if (last & 0x80) return -(v - 0x80 * 2 ** (8 * (bytes.length - 1)));
  return v;
}

/** Minimal script-number encoding (little-endian, sign bit in the top byte). */
export function encodeScriptNum(n: number): Uint8Array {
  if (n === 0) return new Uint8Array(0);
  const out: number[] = [];
  let abs = Math.abs(n);
  while (abs > 0) {
    out.push(abs % 256);
    abs = Math.floor(abs / 256);
  }
  if (out[out.length - 1] & 0x80) out.push(n < 0 ? 0x80 : 0);
  else if (n < 0) out[out.length - 1] |= 0x80;
  return Uint8Array.from(out);
}

/** A minimal push of `data`. */
export function pushData(data: Uint8Array): Uint8Array {
  const n = data.length;
  if (n < 0x4c) return concat(Uint8Array.of(n), data);
  if (n <= 0xff) return concat(Uint8Array.of(0x4c, n), data);
  if (n <= 0xffff) return concat(Uint8Array.of(0x4d, n & 0xff, n >> 8), data);
  return concat(Uint8Array.of(0x4e, n & 0xff, (n >> 8) & 0xff, (n >> 16) & 0xff, n >>> 24), data);
}

/**
 * How a script pushes a number, as Bitcoin Core's `CScript() << n` does:
 * OP_0 for 0, OP_1NEGATE/OP_1..OP_16 for -1 and 1..16, else a minimal push.
 * BIP 34 requires the coinbase scriptSig to start with exactly these bytes.
 */
export function scriptNumPush(n: number): Uint8Array {
  if (n === 0) return Uint8Array.of(0x00);
  if (n === -1) return Uint8Array.of(0x4f);
  if (n >= 1 && n <= 16) return Uint8Array.of(0x50 + n);
  return pushData(encodeScriptNum(n));
}

/** The BIP 34 prefix for a coinbase at `height`. */
export const bip34HeightPrefix = scriptNumPush;

/** ASM text as Bitcoin Core's ScriptToAsmStr prints it (without sighash decoding). */
export function scriptToAsm(script: Uint8Array): string {
  const { ops, ok } = parseScript(script);
  const parts = ops.map((op) => {
    if (op.data !== undefined) {
      return op.data.length <= 4 ? String(decodeScriptNum(op.data)) : toHex(op.data);
    }
    return NAMES[op.opcode] ?? "OP_UNKNOWN";
  });
  if (!ok) parts.push("[error]");
  return parts.join(" ");
}

export type ScriptType =
  | "nonstandard"
  | "pubkey"
  | "pubkeyhash"
  | "scripthash"
  | "multisig"
  | "nulldata"
  | "anchor"
  | "witness_v0_keyhash"
  | "witness_v0_scripthash"
  | "witness_v1_taproot"
  | "witness_unknown";

export interface ClassifiedScript {
  type: ScriptType;
  /** For witness outputs. */
  witnessVersion?: number;
  witnessProgram?: Uint8Array;
  /** The 20-byte hash of P2PKH / P2SH outputs. */
  hash?: Uint8Array;
}

/** Witness version and program if `script` is a witness program (BIP 141). */
export function witnessProgram(
  script: Uint8Array,
): { version: number; program: Uint8Array } | undefined {
  if (script.length < 4 || script.length > 42) return undefined;
  const v = script[0];
  if (v !== 0 && (v < OP.OP_1 || v > OP.OP_16)) return undefined;
  if (script[1] + 2 !== script.length) return undefined;
  return { version: v === 0 ? 0 : v - 0x50, program: script.slice(2) };
}

function isPushOnly(ops: ScriptOp[]): boolean {
  return ops.every((op) => op.opcode <= 0x60);
}

const ANCHOR_PROGRAM = Uint8Array.of(0x4e, 0x73);

/** Classifies an output script the way Bitcoin Core names types in RPC output. */
export function classifyScript(script: Uint8Array): ClassifiedScript {
  const s = script;
  if (s.length === 23 && s[0] === OP.OP_HASH160 && s[1] === 20 && s[22] === OP.OP_EQUAL) {
    return { type: "scripthash", hash: s.slice(2, 22) };
  }
  const wp = witnessProgram(s);
  if (wp) {
    const base = { witnessVersion: wp.version, witnessProgram: wp.program };
    if (wp.version === 0 && wp.program.length === 20) {
      return { type: "witness_v0_keyhash", ...base };
    }
    if (wp.version === 0 && wp.program.length === 32) {
      return { type: "witness_v0_scripthash", ...base };
    }
    if (wp.version === 1 && wp.program.length === 32) {
      return { type: "witness_v1_taproot", ...base };
    }
    if (wp.version === 1 && equalBytes(wp.program, ANCHOR_PROGRAM)) {
      return { type: "anchor", ...base };
    }
    if (wp.version !== 0) return { type: "witness_unknown", ...base };
    return { type: "nonstandard" };
  }
  const { ops, ok } = parseScript(s);
  if (s.length >= 1 && s[0] === OP.OP_RETURN && ok && isPushOnly(ops.slice(1))) {
    return { type: "nulldata" };
  }
  if (
    (s.length === 35 && s[0] === 33 && s[34] === OP.OP_CHECKSIG) ||
    (s.length === 67 && s[0] === 65 && s[66] === OP.OP_CHECKSIG)
  ) {
    return { type: "pubkey" };
  }
  if (
    s.length === 25 && s[0] === OP.OP_DUP && s[1] === OP.OP_HASH160 && s[2] === 20 &&
    s[23] === OP.OP_EQUALVERIFY && s[24] === OP.OP_CHECKSIG
  ) {
    return { type: "pubkeyhash", hash: s.slice(3, 23) };
  }
  if (ok && ops.length >= 4 && ops[ops.length - 1].opcode === OP.OP_CHECKMULTISIG) {
    const m = ops[0].opcode, n = ops[ops.length - 2].opcode;
    const keys = ops.slice(1, -2);
    const keysOk = keys.every((k) => k.data && (k.data.length === 33 || k.data.length === 65));
    if (
      m >= OP.OP_1 && m <= OP.OP_16 && n >= m && n <= OP.OP_16 && keysOk &&
      keys.length === n - 0x50
    ) {
      return { type: "multisig" };
    }
  }
  return { type: "nonstandard" };
}

/** Legacy (inaccurate) sigop count: CHECKSIG* 1, CHECKMULTISIG* 20. */
export function legacySigOps(script: Uint8Array): number {
  const { ops } = parseScript(script);
  let n = 0;
  for (const op of ops) {
    if (op.opcode === OP.OP_CHECKSIG || op.opcode === OP.OP_CHECKSIGVERIFY) n += 1;
    else if (op.opcode === OP.OP_CHECKMULTISIG || op.opcode === OP.OP_CHECKMULTISIGVERIFY) n += 20;
  }
  return n;
}
