/**
 * Finds a block for a Stratum job fast enough for tests on signet, whose
 * minimum difficulty (~0.0011) needs about 4.8 million headers per block:
 * too many for the one-hash-per-call miner in lib/stratum (~35 kH/s).
 *
 * The project's midstate hasher (lib/bitcoin HeaderHasher: the header's
 * first 64 bytes compressed once, two compressions per nonce) into a reused
 * buffer. This is a prefilter: a nonce whose hash
 * looks like a block is handed to lib/stratum's `mine`, which builds and
 * checks the share itself, so a bug here can cost time but never yield a
 * wrong share.
 */

import { HeaderHasher } from "../../lib/bitcoin/hash.ts";
import { fromHex } from "../../lib/bitcoin/mod.ts";
import { headerFor, type Job, mine, type MinedShare } from "../../lib/stratum/job.ts";
import type { StratumClient } from "../../lib/stratum/client.ts";

/** The most significant 32 bits of a target given as compact bits (hash <= target). */
function targetTopWord(bits: number): number {
  const exponent = bits >>> 24;
  const mantissa = bits & 0x7fffff;
  // target = mantissa * 256^(exponent-3); its top word sits at byte 28..31 of 32.
  const shiftBytes = exponent - 3 - 28;
  if (shiftBytes >= 0) return 0xffffffff;
  const shifted = -shiftBytes >= 4 ? 0 : Math.floor(mantissa / 256 ** -shiftBytes);
  return shifted >>> 0;
}

export interface BlockSearch {
  share: MinedShare;
  /** Headers tried. */
  hashes: number;
  seconds: number;
}

/**
 * Searches nonces (and then extranonce2 values) of `job` for a block; the
 * returned share meets the network target and the client's difficulty.
 */
export function mineBlock(
  client: Pick<StratumClient, "extranonce1" | "extranonce2Size" | "currentDifficulty">,
  job: Job,
  opts: { maxHashes?: number; extranonce2Start?: bigint } = {},
): BlockSearch {
  const started = performance.now();
  const extranonce1 = fromHex(client.extranonce1);
  const topLimit = targetTopWord(job.bits);
  const maxHashes = opts.maxHashes ?? 200_000_000;
  const digest = new Uint8Array(32);
  let extranonce2 = opts.extranonce2Start ?? BigInt(Math.floor(Math.random() * 1e9));
  let hashes = 0;
  while (hashes < maxHashes) {
    const en2 = fromHex(
      extranonce2.toString(16).padStart(client.extranonce2Size * 2, "0")
        .slice(-client.extranonce2Size * 2),
    );
    const header = headerFor(job, {
      extranonce1,
      extranonce2: en2,
      ntime: job.ntime,
      nonce: 0,
      version: job.version,
    });
    const hasher = new HeaderHasher(header);
    for (let nonce = 0; nonce <= 0xffffffff && hashes < maxHashes; nonce++, hashes++) {
      hasher.hash(nonce, digest);
      // The hash as a number is the digest read little-endian: its top word is bytes 31..28.
      const top = ((digest[31] << 24) | (digest[30] << 16) | (digest[29] << 8) | digest[28]) >>> 0;
      if (top > topLimit) continue;
      const share = mine(job, client.currentDifficulty, {
        extranonce1,
        extranonce2Size: client.extranonce2Size,
        extranonce2Start: extranonce2,
        nonceStart: nonce,
        maxHashes: 1,
      });
      if (share?.isBlock) {
        return { share, hashes: hashes + 1, seconds: (performance.now() - started) / 1000 };
      }
    }
    extranonce2 += 1n;
  }
  throw new Error(`no block found in ${hashes} headers (bits ${job.bits.toString(16)})`);
}
