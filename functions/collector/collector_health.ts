/**
 * The collector's /health report from its current state: "down" once an
 * engine socket source has stopped, "degraded" while a store's writes fail or
 * NATS is away, else "ok". Pure: the caller reads the state.
 */

import type { HealthReport } from "../lib/ops_server.ts";

export interface CollectorState {
  postgresUp: boolean;
  redisUp: boolean;
  /** Undefined when no NATS source is configured. */
  natsConnected: boolean | undefined;
  socketFailures: readonly string[];
  queued: number;
  seqMissingTotal: number;
  /** pool_instance -> boot_id of its current engine start (not a metric label: unbounded). */
  currentBoots?: Record<string, string>;
}

export function collectorHealth(s: CollectorState): HealthReport {
  const reasons: string[] = [];
  if (!s.postgresUp) reasons.push("postgres writes failing");
  if (!s.redisUp) reasons.push("redis writes failing");
  if (s.natsConnected === false) reasons.push("nats disconnected");
  reasons.push(...s.socketFailures);
  return {
    status: s.socketFailures.length > 0 ? "down" : reasons.length === 0 ? "ok" : "degraded",
    reasons,
    queued: s.queued,
    seq_missing_total: s.seqMissingTotal,
    current_boots: s.currentBoots ?? {},
  };
}

/** Missing seqs summed over every tracked engine start. */
export function missingTotal(sources: Iterable<{ missing: number }>): number {
  let total = 0;
  for (const s of sources) total += s.missing;
  return total;
}
