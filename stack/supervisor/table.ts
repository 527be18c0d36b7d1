/**
 * The "what runs where" table `deno task up` prints once the stack is ready,
 * and `deno task stack -- status` prints while it runs.
 */

import type { ServiceStatus } from "./supervisor.ts";

const HEADERS = ["SERVICE", "REGION", "STATE", "PID", "RESTARTS", "UPTIME", "ENDPOINT", "LOG"];

/** `42s`, `3m07s`, `2h05m`; `-` when not running. */
export function formatUptime(ms: number | null): string {
  if (ms === null) return "-";
  const seconds = Math.floor(ms / 1000);
  if (seconds < 60) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(seconds % 60).padStart(2, "0")}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, "0")}m`;
}

/** `stopped` reads `stopped (operator)` when the operator stopped it. */
function stateCell(row: ServiceStatus): string {
  return row.operatorStopped && row.state === "stopped" ? "stopped (operator)" : row.state;
}

/** Plain-text table, one row per service, columns padded to their widest cell. */
export function formatTable(rows: readonly ServiceStatus[]): string {
  const cells = rows.map((r) => [
    r.name,
    r.region,
    stateCell(r),
    r.pid === null ? "-" : String(r.pid),
    String(r.restarts),
    formatUptime(r.uptimeMs),
    r.endpoint,
    r.logPath,
  ]);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i].length)));
  const line = (row: readonly string[]) =>
    row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd();
  return [line(HEADERS), ...cells.map(line)].join("\n");
}
