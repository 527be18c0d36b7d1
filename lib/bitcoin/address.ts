/**
 * Addresses: Base58Check (P2PKH, P2SH) and Bech32 / Bech32m segwit addresses
 * (BIP 173, BIP 350), decoded to and encoded from output scripts, per network.
 */
import { concat, equalBytes } from "./bytes.ts";
import { sha256d } from "./hash.ts";
import { classifyScript } from "./script.ts";

export interface Network {
  name: "main" | "test" | "signet" | "regtest";
  p2pkh: number;
  p2sh: number;
  hrp: string;
}

export const NETWORKS: Record<Network["name"], Network> = {
  main: { name: "main", p2pkh: 0x00, p2sh: 0x05, hrp: "bc" },
  test: { name: "test", p2pkh: 0x6f, p2sh: 0xc4, hrp: "tb" },
  signet: { name: "signet", p2pkh: 0x6f, p2sh: 0xc4, hrp: "tb" },
  regtest: { name: "regtest", p2pkh: 0x6f, p2sh: 0xc4, hrp: "bcrt" },
};

const B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

export function base58Encode(bytes: Uint8Array): string {
  let n = 0n;
  for (const b of bytes) n = (n << 8n) | BigInt(b);
  let s = "";
  while (n > 0n) {
    s = B58[Number(n % 58n)] + s;
    n /= 58n;
  }
  for (const b of bytes) {
    if (b !== 0) break;
    s = "1" + s;
  }
  return s;
}

/** Decodes Base58; returns undefined on a character outside the alphabet. */
export function base58Decode(s: string): Uint8Array | undefined {
  let n = 0n;
  for (const c of s) {
    const v = B58.indexOf(c);
    if (v < 0) return undefined;
    n = n * 58n + BigInt(v);
  }
  const bytes: number[] = [];
  while (n > 0n) {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  for (const c of s) {
    if (c !== "1") break;
    bytes.unshift(0);
  }
  return Uint8Array.from(bytes);
}

export function base58CheckEncode(payload: Uint8Array): string {
  return base58Encode(concat(payload, sha256d(payload).subarray(0, 4)));
}

/** The payload, or undefined when the characters or the checksum are wrong. */
export function base58CheckDecode(s: string): Uint8Array | undefined {
  const raw = base58Decode(s);
  if (!raw || raw.length < 4) return undefined;
  const payload = raw.subarray(0, raw.length - 4);
  if (!equalBytes(sha256d(payload).subarray(0, 4), raw.subarray(raw.length - 4))) return undefined;
  return payload.slice();
}

const CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const GEN = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
export type Bech32Encoding = "bech32" | "bech32m";
const CONST: Record<Bech32Encoding, number> = { bech32: 1, bech32m: 0x2bc830a3 };

function polymod(values: number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= GEN[i];
  }
  return chk >>> 0;
}

function hrpExpand(hrp: string): number[] {
  const codes = [...hrp].map((c) => c.charCodeAt(0));
  return [...codes.map((c) => c >> 5), 0, ...codes.map((c) => c & 31)];
}

export function bech32Encode(hrp: string, data: number[], enc: Bech32Encoding): string {
  const mod = polymod([...hrpExpand(hrp), ...data, 0, 0, 0, 0, 0, 0]) ^ CONST[enc];
  const checksum = Array.from({ length: 6 }, (_, i) => (mod >>> (5 * (5 - i))) & 31);
  return hrp + "1" + [...data, ...checksum].map((d) => CHARSET[d]).join("");
}

export interface Bech32Decoded {
  hrp: string;
  data: number[];
  encoding: Bech32Encoding;
}

/** Decodes a Bech32/Bech32m string; throws with the reason. */
export function bech32Decode(s: string): Bech32Decoded {
  if (s.length > 90) throw new Error("Bech32(m) string too long");
  if (s !== s.toLowerCase() && s !== s.toUpperCase()) {
    throw new Error("Invalid character or mixed case");
  }
  const lower = s.toLowerCase();
  const sep = lower.lastIndexOf("1");
  if (sep < 1 || sep + 7 > lower.length) throw new Error("Invalid Bech32 separator position");
  const hrp = lower.slice(0, sep);
  for (const c of hrp) {
    const code = c.charCodeAt(0);
    if (code < 33 || code > 126) throw new Error("Invalid character or mixed case");
  }
  const data: number[] = [];
  for (const c of lower.slice(sep + 1)) {
    const v = CHARSET.indexOf(c);
    if (v < 0) throw new Error("Invalid Base 32 character");
    data.push(v);
  }
  const check = polymod([...hrpExpand(hrp), ...data]);
  const encoding = check === CONST.bech32 ? "bech32" : check === CONST.bech32m ? "bech32m" : null;
  if (!encoding) throw new Error("Invalid Bech32 checksum");
  return { hrp, data: data.slice(0, -6), encoding };
}

/** Regroups bits; with pad=false, leftover bits must be fewer than `from` and zero. */
function convertBits(data: number[], from: number, to: number, pad: boolean): number[] | undefined {
  let acc = 0, bits = 0;
  const out: number[] = [];
  const maxv = (1 << to) - 1;
  for (const v of data) {
    acc = (acc << from) | v;
    bits += from;
    while (bits >= to) {
      bits -= to;
      out.push((acc >> bits) & maxv);
    }
  }
  if (pad) {
    if (bits > 0) out.push((acc << (to - bits)) & maxv);
  } else if (bits >= from || ((acc << (to - bits)) & maxv) !== 0) {
    return undefined;
  }
  return out;
}

export function encodeSegwitAddress(hrp: string, version: number, program: Uint8Array): string {
  const data = [version, ...(convertBits([...program], 8, 5, true) as number[])];
  return bech32Encode(hrp, data, version === 0 ? "bech32" : "bech32m");
}

function p2pkhScript(hash: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(0x76, 0xa9, 0x14), hash, Uint8Array.of(0x88, 0xac));
}

function p2shScript(hash: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(0xa9, 0x14), hash, Uint8Array.of(0x87));
}

function witnessScript(version: number, program: Uint8Array): Uint8Array {
  return concat(Uint8Array.of(version === 0 ? 0 : 0x50 + version, program.length), program);
}

export interface DecodedAddress {
  scriptPubKey: Uint8Array;
  isScript: boolean;
  isWitness: boolean;
  witnessVersion?: number;
  witnessProgram?: Uint8Array;
}

/**
 * Decodes an address for `net` into its output script. Throws an Error whose
 * message says why the address is invalid (wording follows Bitcoin Core).
 */
export function decodeAddress(address: string, net: Network = NETWORKS.regtest): DecodedAddress {
  if (typeof address !== "string") throw new Error("address must be a string");
  const lower = address.toLowerCase();
  if (lower.startsWith(net.hrp + "1")) return decodeSegwit(address, net);
  const payload = base58CheckDecode(address);
  if (payload) {
    if (payload.length !== 21) throw new Error("Invalid length for Base58 address (P2PKH or P2SH)");
    const hash = payload.subarray(1);
    if (payload[0] === net.p2pkh) {
      return { scriptPubKey: p2pkhScript(hash), isScript: false, isWitness: false };
    }
    if (payload[0] === net.p2sh) {
      return { scriptPubKey: p2shScript(hash), isScript: true, isWitness: false };
    }
    throw new Error("Invalid or unsupported Base58-encoded address.");
  }
  if (base58Decode(address) && address.length > 0) {
    throw new Error("Invalid checksum or length of Base58 address (P2PKH or P2SH)");
  }
  let decoded: Bech32Decoded | undefined;
  try {
    decoded = bech32Decode(address);
  } catch {
    throw new Error("Invalid or unsupported Segwit (Bech32) or Base58 encoding.");
  }
  throw new Error(
    `Invalid or unsupported prefix for Segwit (Bech32) address (expected ${net.hrp}, got ${decoded.hrp}).`,
  );
}

function decodeSegwit(address: string, net: Network): DecodedAddress {
  const { hrp, data, encoding } = bech32Decode(address);
  if (hrp !== net.hrp) throw new Error(`Invalid prefix for Segwit address (expected ${net.hrp})`);
  if (data.length === 0) throw new Error("Empty Bech32 data section");
  const version = data[0];
  if (version > 16) throw new Error("Invalid Bech32 address witness version");
  if (version === 0 && encoding !== "bech32") {
    throw new Error("Version 0 witness address must use Bech32 checksum");
  }
  if (version !== 0 && encoding !== "bech32m") {
    throw new Error("Version 1+ witness address must use Bech32m checksum");
  }
  const bytes = convertBits(data.slice(1), 5, 8, false);
  if (!bytes) throw new Error("Invalid padding in Bech32 data section");
  const program = Uint8Array.from(bytes);
  if (program.length < 2 || program.length > 40) {
    throw new Error(`Invalid Bech32 address program size (${program.length} bytes)`);
  }
  if (version === 0 && program.length !== 20 && program.length !== 32) {
    throw new Error(`Invalid Bech32 v0 address program size (${program.length} bytes), per BIP141`);
  }
  return {
    scriptPubKey: witnessScript(version, program),
    isScript: version === 0 && program.length === 32,
    isWitness: true,
    witnessVersion: version,
    witnessProgram: program,
  };
}

/** The address paying to `script` on `net`, or undefined when it has none. */
export function scriptToAddress(
  script: Uint8Array,
  net: Network = NETWORKS.regtest,
): string | undefined {
  const c = classifyScript(script);
  switch (c.type) {
    case "pubkeyhash":
      return base58CheckEncode(concat(Uint8Array.of(net.p2pkh), c.hash as Uint8Array));
    case "scripthash":
      return base58CheckEncode(concat(Uint8Array.of(net.p2sh), c.hash as Uint8Array));
    case "witness_v0_keyhash":
    case "witness_v0_scripthash":
    case "witness_v1_taproot":
    case "witness_unknown":
    case "anchor":
      return encodeSegwitAddress(
        net.hrp,
        c.witnessVersion as number,
        c.witnessProgram as Uint8Array,
      );
    default:
      return undefined;
  }
}
