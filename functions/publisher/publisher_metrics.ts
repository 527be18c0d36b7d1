/**
 * The publisher's metric families (names and help texts are the /metrics
 * contract documented in docs/metrics.md), registered in one place.
 */

import type { Registry } from "../lib/metrics.ts";
import type { Spool } from "./spool.ts";

export function publisherMetrics(registry: Registry) {
  return {
    received: registry.counter(
      "publisher_datagrams_received_total",
      "Datagrams read from the engine socket",
    ),
    spooled: registry.counter("publisher_events_spooled_total", "Valid events spooled"),
    invalid: registry.counter(
      "publisher_events_invalid_total",
      "Datagrams that failed validation (dead-lettered)",
    ),
    refused: registry.counter(
      "publisher_events_refused_total",
      "Valid events refused because the spool was full",
    ),
    deadLettered: registry.counter(
      "publisher_deadletter_written_total",
      "Lines written to the dead-letter file",
    ),
    published: registry.counter(
      "publisher_events_published_total",
      "Events acknowledged by JetStream",
    ),
    duplicates: registry.counter(
      "publisher_publish_duplicates_total",
      "Publishes JetStream reported as duplicates (absorbed by Nats-Msg-Id)",
    ),
    publishErrors: registry.counter(
      "publisher_publish_errors_total",
      "Publish passes that failed and were retried",
    ),
    natsConnected: registry.gauge(
      "publisher_nats_connected",
      "1 while connected to NATS",
    ),
  };
}

export type PublisherMetrics = ReturnType<typeof publisherMetrics>;

/** Gauges read from the spool at scrape time. */
export function registerSpoolGauges(registry: Registry, spool: Spool, maxBytes: number): void {
  registry.gaugeFn(
    "publisher_spool_backlog_bytes",
    "Spooled bytes not yet acknowledged",
    () => spool.backlogBytes,
  );
  registry.gaugeFn(
    "publisher_spool_disk_bytes",
    "Bytes the spool segments take",
    () => spool.diskBytes,
  );
  registry.gaugeFn(
    "publisher_spool_max_bytes",
    "Configured spool bound",
    () => maxBytes,
  );
  registry.gaugeFn("publisher_spool_fill_ratio", "Spool disk bytes / bound", () => spool.fillRatio);
  registry.gaugeFn(
    "publisher_spool_committed_offset",
    "Acknowledged spool offset",
    () => spool.committed,
  );
  registry.gaugeFn(
    "publisher_spool_write_offset",
    "Durable end of the spool",
    () => spool.writeEnd,
  );
}
