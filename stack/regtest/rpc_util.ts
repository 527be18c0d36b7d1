/**
 * JSON-RPC errors with Bitcoin Core's codes, and parameter readers that fail
 * the way bitcoind does (type errors -3, invalid parameters -8).
 */

export const RPC = {
  MISC_ERROR: -1,
  TYPE_ERROR: -3,
  INVALID_ADDRESS_OR_KEY: -5,
  INVALID_PARAMETER: -8,
  CLIENT_NOT_CONNECTED: -9,
  DESERIALIZATION_ERROR: -22,
  VERIFY_ERROR: -25,
  VERIFY_REJECTED: -26,
  VERIFY_ALREADY_IN_CHAIN: -27,
  INVALID_REQUEST: -32600,
  METHOD_NOT_FOUND: -32601,
  INTERNAL_ERROR: -32603,
  PARSE_ERROR: -32700,
} as const;

export class RpcError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

/** The JSON type name bitcoind's messages use (null, bool, number, string, array, object). */
export function jsonTypeName(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "boolean") return "bool";
  return typeof v;
}

function typeError(v: unknown, expected: string): RpcError {
  return new RpcError(
    RPC.TYPE_ERROR,
    `JSON value of type ${jsonTypeName(v)} is not of expected type ${expected}`,
  );
}

export function isMissing(v: unknown): boolean {
  return v === undefined || v === null;
}

export function requireParam(params: unknown[], i: number, name: string): unknown {
  if (isMissing(params[i])) {
    throw new RpcError(RPC.INVALID_PARAMETER, `Missing required parameter "${name}"`);
  }
  return params[i];
}

export function asInt(v: unknown): number {
  if (typeof v !== "number") throw typeError(v, "number");
  if (!Number.isInteger(v)) throw new RpcError(RPC.TYPE_ERROR, "JSON integer out of range");
  return v;
}

export function asString(v: unknown): string {
  if (typeof v !== "string") throw typeError(v, "string");
  return v;
}

export function asBool(v: unknown): boolean {
  if (typeof v !== "boolean") throw typeError(v, "bool");
  return v;
}

export function asObject(v: unknown): Record<string, unknown> {
  if (typeof v !== "object" || v === null || Array.isArray(v)) throw typeError(v, "object");
  return v as Record<string, unknown>;
}

/** A block or transaction hash parameter, validated like Core's ParseHashV. */
export function asHash(v: unknown, name: string): string {
  const s = asString(v);
  if (s.length !== 64) {
    throw new RpcError(
      RPC.INVALID_PARAMETER,
      `${name} must be of length 64 (not ${s.length}, for '${s}')`,
    );
  }
  if (!/^[0-9a-fA-F]{64}$/.test(s)) {
    throw new RpcError(RPC.INVALID_PARAMETER, `${name} must be hexadecimal string (not '${s}')`);
  }
  return s.toLowerCase();
}

/** Satoshis to a BTC amount number (8 decimals). */
export function btc(sats: bigint): number {
  return Number(sats) / 1e8;
}
