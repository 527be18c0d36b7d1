/**
 * Segwit v0 addresses (BIP 173 bech32) for benchmark payout users, so the
 * bench can authorize with a valid regtest address without a wallet. The
 * encoding is the regtest node's (lib/bitcoin/address.ts).
 */

import { encodeSegwitAddress } from "../lib/bitcoin/address.ts";

/** A witness v0 address for `program` (20 or 32 bytes) with human-readable part `hrp`. */
export function segwitV0Address(hrp: string, program: Uint8Array): string {
  if (program.length !== 20 && program.length !== 32) {
    throw new Error(`segwit v0 program must be 20 or 32 bytes, got ${program.length}`);
  }
  return encodeSegwitAddress(hrp, 0, program);
}
