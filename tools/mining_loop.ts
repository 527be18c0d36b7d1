/**
 * The hashing loop of the CPU miner: works on one order in slices, reports
 * every share found and the hashes done, and picks up a new order at the next
 * slice boundary. Runs on the main thread (one thread) or in a worker.
 */

import { fromHex } from "../lib/bitcoin/mod.ts";
import { mine, type MinedShare, parseNotify } from "../lib/stratum/job.ts";

/** The job to work on and this thread's slice of extranonce2. */
export interface WorkOrder {
  generation: number;
  notifyParams: unknown[];
  difficulty: number;
  extranonce1: string;
  extranonce2Size: number;
  /** Decimal string (bigint does not cross postMessage everywhere). */
  extranonce2Start: string;
  versionMask: number;
}

/** A share as reported (hash as hex, no resume state). */
export type ReportedShare = Omit<MinedShare, "hash" | "next">;

export type MiningReport =
  | { type: "share"; generation: number; share: ReportedShare }
  | { type: "progress"; generation: number; hashes: number };

const SLICE = 20_000;

export class MiningLoop {
  #order: WorkOrder | null = null;
  #running = false;
  #stopped = false;
  #report: (r: MiningReport) => void;

  constructor(report: (r: MiningReport) => void) {
    this.#report = report;
  }

  /** Replaces the current order; starts the loop on the first one. */
  setOrder(order: WorkOrder): void {
    this.#order = order;
    if (!this.#running) {
      this.#running = true;
      void this.#loop();
    }
  }

  stop(): void {
    this.#stopped = true;
  }

  async #loop(): Promise<void> {
    let current: WorkOrder | null = null;
    let nonce = 0;
    let extranonce2 = 0n;
    while (this.#order && !this.#stopped) {
      if (current !== this.#order) {
        current = this.#order;
        nonce = 0;
        extranonce2 = BigInt(current.extranonce2Start);
      }
      const found = mine(parseNotify(current.notifyParams), current.difficulty, {
        extranonce1: fromHex(current.extranonce1),
        extranonce2Size: current.extranonce2Size,
        extranonce2Start: extranonce2,
        versionMask: current.versionMask,
        nonceStart: nonce,
        maxHashes: SLICE,
      });
      if (found) {
        const { hash: _hash, next, ...share } = found;
        this.#report({ type: "share", generation: current.generation, share });
        this.#report({ type: "progress", generation: current.generation, hashes: found.hashes });
        nonce = next.nonce;
        extranonce2 = next.extranonce2;
      } else {
        this.#report({ type: "progress", generation: current.generation, hashes: SLICE });
        // Advance past the slice, carrying into extranonce2 as mine() does.
        if (nonce + SLICE > 0xffffffff) extranonce2 += 1n;
        nonce = (nonce + SLICE) >>> 0;
      }
      // Yield so a new order (or a submit response) gets in.
      await new Promise((resolve) => setTimeout(resolve, 0));
    }
    this.#running = false;
  }
}
