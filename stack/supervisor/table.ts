/** The "what runs where" table `deno task up` prints once the stack is ready. */

import type { ServiceStatus } from "./supervisor.ts";

const HEADERS = ["SERVICE", "REGION", "ENDPOINT", "PID", "LOG"] as const;

/** Plain-text table, one row per service, columns padded to their widest cell. */
export function formatTable(rows: readonly ServiceStatus[]): string {
  const cells = rows.map((r) => [
    r.name,
    r.region,
    r.endpoint,
    r.pid === null ? "-" : String(r.pid),
    r.logPath,
  ]);
  const widths = HEADERS.map((h, i) => Math.max(h.length, ...cells.map((row) => row[i].length)));
  const line = (row: readonly string[]) =>
    row.map((cell, i) => cell.padEnd(widths[i])).join("  ").trimEnd();
  return [line(HEADERS), ...cells.map(line)].join("\n");
}
