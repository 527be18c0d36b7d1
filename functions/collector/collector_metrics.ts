/**
 * The collector's metric families (names and help texts are the /metrics
 * contract documented in docs/metrics.md), registered in one place.
 */

import type { Registry } from "../lib/metrics.ts";

export function collectorMetrics(registry: Registry) {
  return {
    received: registry.counter("collector_events_received_total", "Events taken from a source"),
    invalid: registry.counter("collector_events_invalid_total", "Invalid events dropped"),
    inserted: registry.counter(
      "collector_events_inserted_total",
      "Events newly inserted into PostgreSQL",
    ),
    duplicates: registry.counter(
      "collector_events_duplicate_total",
      "Events already stored (redeliveries, absorbed)",
    ),
    redisAdded: registry.counter(
      "collector_redis_added_total",
      "Events newly added to Redis streams",
    ),
    blocks: registry.counter("collector_blocks_inserted_total", "block_found rows inserted"),
    batches: registry.counter("collector_batches_total", "Batches committed to both stores"),
    deadLettered: registry.counter(
      "collector_events_deadlettered_total",
      "Events PostgreSQL permanently rejected (data error): terminated, logged, never stored",
    ),
    sinkErrors: registry.counter("collector_sink_errors_total", "Failed writes (retried)"),
    lag: registry.gauge(
      "collector_commit_lag_seconds",
      "Last batch: commit time minus its oldest event ts",
    ),
    seqHighest: registry.gauge("collector_seq_highest", "Highest seq seen per engine start"),
    seqMissing: registry.gauge("collector_seq_missing", "Seqs missing below the highest"),
  };
}
