/**
 * The miner API's metric families, served on its own /metrics: requests by
 * endpoint and status, cache hits and misses, and the time spent computing
 * answers (the PostgreSQL reads), registered in one place.
 */

import type { Registry } from "../lib/metrics.ts";

export function minerApiMetrics(registry: Registry) {
  return {
    requests: registry.counter(
      "miner_api_requests_total",
      "HTTP requests by endpoint and status",
    ),
    cache: registry.counter(
      "miner_api_cache_total",
      "Answers served from the cache (result=hit) or computed (result=miss)",
    ),
    history: registry.counter(
      "miner_api_history_total",
      "Reads of an address's shares older than 25 h: from the hourly cache (hit) or PostgreSQL (miss)",
    ),
    computeSeconds: registry.counter(
      "miner_api_compute_seconds_total",
      "Time spent computing answers from PostgreSQL (divide by the misses for the mean)",
    ),
  };
}

/** The endpoint label of a request path: a fixed set, never the address itself. */
export function endpointOf(path: string): string {
  if (path.startsWith("/api/v1/miners/")) {
    const rest = path.slice("/api/v1/miners/".length);
    const tail = rest.slice(rest.indexOf("/") + 1);
    if (!rest.includes("/")) return "summary";
    if (tail === "workers" || tail === "worker" || tail === "blocks") return tail;
    return "other";
  }
  if (path.startsWith("/miners/")) return "page";
  if (path === "/" || path === "/health" || path === "/metrics") return path;
  return "other";
}
