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

export interface SettleOptions {
  /** Seqs each store may miss once recovered: the gaps before the fault plus what the engines counted dropped since. */
  expectedLost: () => Promise<number>;
  /** Lost now, the larger of the two stores (counted up to the watermarks). */
  lostNow: () => Promise<number>;
  /** Gaps unchanged this long are final (past JetStream's ack wait, nothing is redelivered later). */
  stableMs: number;
  timeoutMs: number;
  sinceMs: number;
}

/**
 * After the flow is back: waits until the stores' gaps are down to what the
 * engines counted dropped, as a collector killed mid-batch leaves messages
 * that JetStream redelivers only after its ack wait. Returns ms from
 * `sinceMs` to that, and whether gaps beyond the counted drops stayed.
 */
export async function waitGapsSettled(
  options: SettleOptions,
): Promise<{ ms: number; unexplained: boolean; timedOut: boolean }> {
  const deadline = Date.now() + options.timeoutMs;
  let last = Number.NaN;
  let lastChange = Date.now();
  while (true) {
    const lost = await options.lostNow().catch(() => Number.NaN);
    const expected = await options.expectedLost().catch(() => Number.NaN);
    const now = Date.now();
    if (lost <= expected) return { ms: now - options.sinceMs, unexplained: false, timedOut: false };
    if (lost !== last) {
      last = lost;
      lastChange = now;
    } else if (now - lastChange >= options.stableMs) {
      return { ms: lastChange - options.sinceMs, unexplained: true, timedOut: false };
    }
    if (now > deadline) return { ms: now - options.sinceMs, unexplained: true, timedOut: true };
    await new Promise((r) => setTimeout(r, 2000));
  }
}
