/**
 * The publisher's /health report from its current state: "down" when the
 * spool cannot take more (full, or commits failing), "degraded" while NATS is
 * away or the spool is above 80%, else "ok". Pure: the caller reads the state.
 */

import type { HealthReport } from "../lib/ops_server.ts";

export interface PublisherState {
  region: string;
  natsConnected: boolean;
  spoolFillRatio: number;
  spoolDiskBytes: number;
  spoolMaxBytes: number;
  spoolBacklogBytes: number;
  commitError: Error | undefined;
}

/** Headroom below the bound at which the spool already counts as full. */
const FULL_MARGIN_BYTES = 64 * 1024;

export function publisherHealth(s: PublisherState): HealthReport {
  const reasons: string[] = [];
  if (!s.natsConnected) reasons.push("nats disconnected");
  if (s.spoolFillRatio >= 1 || s.spoolDiskBytes + FULL_MARGIN_BYTES > s.spoolMaxBytes) {
    reasons.push("spool full");
  } else if (s.spoolFillRatio >= 0.8) reasons.push("spool above 80%");
  if (s.commitError !== undefined) {
    reasons.push(`spool commit failing: ${s.commitError.message}`);
  }
  const status = reasons.includes("spool full") || s.commitError !== undefined
    ? "down"
    : reasons.length > 0
    ? "degraded"
    : "ok";
  return {
    status,
    reasons,
    region: s.region,
    nats_connected: s.natsConnected,
    spool_backlog_bytes: s.spoolBacklogBytes,
    spool_fill_ratio: s.spoolFillRatio,
  };
}
