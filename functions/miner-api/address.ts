/**
 * Payout address validation for the miner API: full decoding, not a shape
 * check. Bech32 (BIP 173, segwit v0) and Bech32m (BIP 350, v1+) with their
 * checksums and witness-program rules, and Base58Check (P2PKH, P2SH) with its
 * double-SHA-256 checksum and version byte, each against the network the API
 * serves. Every rejection says what is wrong with which part.
 */

import { createHash } from "node:crypto";

export const NETWORKS = ["main", "testnet", "testnet4", "signet", "regtest"] as const;
export type NetworkName = typeof NETWORKS[number];

interface NetworkParams {
  hrp: string;
  p2pkh: number;
  p2sh: number;
}

const PARAMS: Record<NetworkName, NetworkParams> = {
  main: { hrp: "bc", p2pkh: 0x00, p2sh: 0x05 },
  testnet: { hrp: "tb", p2pkh: 0x6f, p2sh: 0xc4 },
  testnet4: { hrp: "tb", p2pkh: 0x6f, p2sh: 0xc4 },
  signet: { hrp: "tb", p2pkh: 0x6f, p2sh: 0xc4 },
  regtest: { hrp: "bcrt", p2pkh: 0x6f, p2sh: 0xc4 },
};

/** The address types miner_connected reports (docs/events.md). */
export type AddressType = "legacy" | "p2sh" | "bech32" | "bech32m";

export type AddressCheck =
  | { ok: true; address: string; type: AddressType }
  | { ok: false; error: string };

const MAX_ADDRESS_LENGTH = 90;
const BECH32_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l";
const BECH32_GENERATORS = [0x3b6a57b2, 0x26508e6d, 0x1ea119fa, 0x3d4233dd, 0x2a1462b3];
const BECH32_CONST = 1;
const BECH32M_CONST = 0x2bc830a3;
const BASE58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

function polymod(values: number[]): number {
  let chk = 1;
  for (const v of values) {
    const top = chk >>> 25;
    chk = ((chk & 0x1ffffff) << 5) ^ v;
    for (let i = 0; i < 5; i++) if ((top >>> i) & 1) chk ^= BECH32_GENERATORS[i];
  }
  return chk >>> 0;
}

function hrpExpand(hrp: string): number[] {
  const out: number[] = [];
  for (const c of hrp) out.push(c.charCodeAt(0) >> 5);
  out.push(0);
  for (const c of hrp) out.push(c.charCodeAt(0) & 31);
  return out;
}

/** 5-bit groups to bytes; undefined when the padding is over 4 bits or not zero. */
function fiveToEight(data: number[]): number[] | undefined {
  let acc = 0;
  let bits = 0;
  const out: number[] = [];
  for (const v of data) {
    acc = (acc << 5) | v;
    bits += 5;
    while (bits >= 8) {
      bits -= 8;
      out.push((acc >> bits) & 0xff);
    }
  }
  if (bits >= 5 || ((acc << (8 - bits)) & 0xff) !== 0) return undefined;
  return out;
}

function checkSegwit(text: string, network: NetworkName): AddressCheck {
  const hrpWanted = PARAMS[network].hrp;
  if (text !== text.toLowerCase() && text !== text.toUpperCase()) {
    return { ok: false, error: "bech32 address mixes upper and lower case" };
  }
  const address = text.toLowerCase();
  const sep = address.lastIndexOf("1");
  const hrp = address.slice(0, sep);
  if (hrp !== hrpWanted) {
    return {
      ok: false,
      error: `bech32 prefix '${hrp}1' is not this network's (${network} uses '${hrpWanted}1')`,
    };
  }
  const values: number[] = [];
  for (let i = sep + 1; i < address.length; i++) {
    const v = BECH32_CHARSET.indexOf(address[i]);
    if (v < 0) {
      return {
        ok: false,
        error: `character '${address[i]}' at position ${i + 1} is not in the bech32 alphabet`,
      };
    }
    values.push(v);
  }
  if (values.length < 7) return { ok: false, error: "bech32 data part is too short" };
  const check = polymod([...hrpExpand(hrp), ...values]);
  const version = values[0];
  const wantConst = version === 0 ? BECH32_CONST : BECH32M_CONST;
  if (check !== wantConst) {
    const other = check === (version === 0 ? BECH32M_CONST : BECH32_CONST);
    return {
      ok: false,
      error: other
        ? `witness version ${version} needs a ${
          version === 0 ? "bech32" : "bech32m"
        } checksum, the address has a ${version === 0 ? "bech32m" : "bech32"} one`
        : "bech32 checksum does not match (a character is mistyped)",
    };
  }
  if (version > 16) return { ok: false, error: `witness version ${version} is above 16` };
  const program = fiveToEight(values.slice(1, -6));
  if (!program) return { ok: false, error: "witness program has invalid padding" };
  if (program.length < 2 || program.length > 40) {
    return { ok: false, error: `witness program is ${program.length} bytes (2-40 allowed)` };
  }
  if (version === 0 && program.length !== 20 && program.length !== 32) {
    return {
      ok: false,
      error: `witness v0 program is ${program.length} bytes (20 or 32 allowed)`,
    };
  }
  return { ok: true, address, type: version === 0 ? "bech32" : "bech32m" };
}

function sha256(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(createHash("sha256").update(bytes).digest());
}

function checkBase58(address: string, network: NetworkName): AddressCheck {
  let n = 0n;
  for (let i = 0; i < address.length; i++) {
    const v = BASE58_ALPHABET.indexOf(address[i]);
    if (v < 0) {
      return {
        ok: false,
        error: `character '${address[i]}' at position ${i + 1} is not in the base58 alphabet`,
      };
    }
    n = n * 58n + BigInt(v);
  }
  const bytes: number[] = [];
  while (n > 0n) {
    bytes.unshift(Number(n & 0xffn));
    n >>= 8n;
  }
  for (const c of address) {
    if (c !== "1") break;
    bytes.unshift(0);
  }
  if (bytes.length !== 25) {
    return { ok: false, error: `base58 address decodes to ${bytes.length} bytes (25 expected)` };
  }
  const raw = Uint8Array.from(bytes);
  const digest = sha256(sha256(raw.subarray(0, 21)));
  if (!digest.subarray(0, 4).every((b, i) => b === raw[21 + i])) {
    return { ok: false, error: "base58 checksum does not match (a character is mistyped)" };
  }
  const params = PARAMS[network];
  if (raw[0] === params.p2pkh) return { ok: true, address, type: "legacy" };
  if (raw[0] === params.p2sh) return { ok: true, address, type: "p2sh" };
  return {
    ok: false,
    error: `base58 version byte 0x${
      raw[0].toString(16).padStart(2, "0")
    } is not a ${network} P2PKH or P2SH address`,
  };
}

/**
 * Validates `text` as a payout address on `network`. Bech32 addresses come
 * back in lower case (the form the engine's events carry for them).
 */
export function checkAddress(text: string, network: NetworkName): AddressCheck {
  if (text.length === 0) return { ok: false, error: "address is empty" };
  if (text.length > MAX_ADDRESS_LENGTH) {
    return {
      ok: false,
      error: `address is ${text.length} characters (at most ${MAX_ADDRESS_LENGTH})`,
    };
  }
  if (!/^[\x21-\x7e]+$/.test(text)) {
    return { ok: false, error: "address holds a space or a non-printable or non-ASCII character" };
  }
  // No Base58Check address starts with a segwit prefix and its '1' separator.
  if (/^(bc|tb|bcrt)1/i.test(text)) return checkSegwit(text, network);
  return checkBase58(text, network);
}
