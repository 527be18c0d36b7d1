/** The status page: one row per region, colour by status, refreshed every 10 s. */

import type { RegionStatus } from "./evaluate.ts";
import type { RegionState } from "./monitor.ts";
import { escapeHtml } from "../lib/html.ts";

const COLOURS: Record<RegionStatus, string> = {
  healthy: "#1a7f37",
  degraded: "#9a6700",
  down: "#cf222e",
  unknown: "#6e7781",
};

function ago(iso: string, now: Date): string {
  const s = Math.max(0, Math.round((now.getTime() - Date.parse(iso)) / 1000));
  if (s < 120) return `${s} s ago`;
  if (s < 7200) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}

function figure(value: number | undefined, unit = ""): string {
  return value === undefined ? "–" : `${value}${unit}`;
}

export function renderStatusPage(regions: RegionState[], overall: RegionStatus, now: Date): string {
  const rows = regions.map((r) => `
    <tr>
      <td class="region">${escapeHtml(r.name)}</td>
      <td><span class="badge" style="background:${COLOURS[r.status]}">${r.status}</span></td>
      <td title="${escapeHtml(r.since)}">${ago(r.since, now)}</td>
      <td>${figure(r.figures.templateHeight)}</td>
      <td>${figure(r.figures.templateAgeSeconds, " s")}</td>
      <td>${figure(r.figures.miners)}</td>
      <td class="reason">${escapeHtml(r.reason)}</td>
    </tr>`).join("");
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="refresh" content="10">
<title>Mining regions: ${overall}</title>
<style>
  body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem; color: #1f2328; }
  h1 { font-size: 1.3rem; }
  table { border-collapse: collapse; min-width: 60rem; }
  th, td { text-align: left; padding: .5rem .8rem; border-bottom: 1px solid #d0d7de; }
  th { font-weight: 600; background: #f6f8fa; }
  .badge { color: #fff; border-radius: 1rem; padding: .15rem .7rem; font-weight: 600; }
  .region { font-weight: 600; }
  .reason { color: #57606a; font-size: .9em; }
</style>
</head>
<body>
<h1>Mining regions — overall <span class="badge" style="background:${
    COLOURS[overall]
  }">${overall}</span></h1>
<table>
  <thead><tr><th>Region</th><th>Status</th><th>Since</th><th>Template height</th><th>Template age</th><th>Miners</th><th>Reason</th></tr></thead>
  <tbody>${rows}
  </tbody>
</table>
<p class="reason">Checked ${escapeHtml(now.toISOString())}; refreshes every 10 s.</p>
</body>
</html>
`;
}
