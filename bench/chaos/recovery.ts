/**
 * Recovery after a fault: every engine's events flow into both stores again
 * and the backlog is drained. Each region's newest event in PostgreSQL and in
 * Redis was emitted after the fault ended and at most `freshMs` ago: the
 * pipeline is first-in first-out per region (engine -> publisher spool ->
 * JetStream -> collector), so a fresh event stored means what queued up
 * behind the fault was stored before it.
 */

import type { StoreCounter } from "./counting.ts";

export interface RecoveryOptions {
  poolInstances: readonly string[];
  /** When the fault was over (kill sent, restart returned, partition healed), ms. */
  sinceMs: number;
  freshMs: number;
  timeoutMs: number;
}

/** Ms from `sinceMs` to recovery; null when it did not recover within the timeout. */
export async function waitRecovered(
  counter: StoreCounter,
  options: RecoveryOptions,
): Promise<number | null> {
  const deadline = Date.now() + options.timeoutMs;
  while (Date.now() < deadline) {
    const now = Date.now();
    try {
      await counter.readRedis();
      const pg = await counter.pgNewest(options.sinceMs);
      const fresh = (ms: number | undefined) =>
        ms !== undefined && ms >= options.sinceMs && ms >= now - options.freshMs;
      if (
        options.poolInstances.every((p) => fresh(pg.get(p)) && fresh(counter.redisNewestMs.get(p)))
      ) {
        return Date.now() - options.sinceMs;
      }
    } catch {
      // a store that is restarting: keep waiting
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  return null;
}
