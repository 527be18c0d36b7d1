/**
 * The miner's page: static HTML whose script reads the JSON API and fills in
 * the figures. Every figure cell carries `data-field` (its path in the API
 * answer) and `data-value` (the raw value), and the text a person reads; the
 * body's `data-state` goes from `loading` to `ready` (or `not-found`,
 * `error`) once every table is filled, which is what the browser test waits for;
 * each table's `data-offset` says which page it shows.
 */

import type { NetworkName } from "./address.ts";
import { escapeHtml } from "../lib/html.ts";

/** JSON safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, "\\u003c");
}

const STYLE = `
  body { font: 15px/1.4 system-ui, sans-serif; margin: 2rem; color: #1f2328; }
  h1 { font-size: 1.3rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
  .address { font-family: ui-monospace, monospace; word-break: break-all; }
  table { border-collapse: collapse; min-width: 40rem; }
  th, td { text-align: left; padding: .4rem .8rem; border-bottom: 1px solid #d0d7de; white-space: nowrap; }
  th { font-weight: 600; background: #f6f8fa; }
  td.num { text-align: right; font-variant-numeric: tabular-nums; }
  .muted { color: #57606a; font-size: .9em; }
  .error { color: #cf222e; font-weight: 600; }
  button { margin-right: .5rem; }
`;

/** Formatting and rendering in the browser (plain JavaScript, no build step). */
const SCRIPT = `
const SI = ["", "k", "M", "G", "T", "P", "E", "Z"];
function si(value, unit) {
  if (value === null || value === undefined) return "–";
  let i = 0;
  let v = value;
  while (Math.abs(v) >= 1000 && i < SI.length - 1) { v /= 1000; i++; }
  const suffix = SI[i] + unit;
  return (v === 0 ? "0" : v.toPrecision(3)) + (suffix === "" ? "" : " " + suffix);
}
function when(iso) {
  return iso === null ? "–" : iso.slice(0, 19).replace("T", " ") + " UTC";
}
const FORMAT = {
  hashrate: (v) => si(v, "H/s"),
  diff: (v) => si(v, ""),
  count: (v) => String(v),
  time: when,
  text: (v) => (v === null || v === "" ? "–" : String(v)),
  list: (v) => (v.length === 0 ? "–" : v.join(", ")),
  bool: (v) => (v ? "yes" : "no"),
  sat: (v) => (v === null ? "–" : (v / 1e8).toFixed(8) + " BTC"),
};
function cell(field, value, kind) {
  const td = document.createElement("td");
  td.dataset.field = field;
  td.dataset.value = JSON.stringify(value);
  td.textContent = FORMAT[kind](value);
  if (kind === "hashrate" || kind === "diff" || kind === "count") td.className = "num";
  return td;
}
function at(obj, path) {
  return path.split(".").reduce((o, k) => (o === null || o === undefined ? o : o[k]), obj);
}
const SUMMARY = [
  ["Hashrate 1 min", "hashrate.1m", "hashrate"], ["Hashrate 1 h", "hashrate.1h", "hashrate"],
  ["Hashrate 24 h", "hashrate.24h", "hashrate"], ["Shares accepted", "shares.accepted", "count"],
  ["Shares rejected", "shares.rejected", "count"], ["Best share this week", "best_share.week", "diff"],
  ["Best share ever", "best_share.ever", "diff"], ["Blocks found", "blocks_found", "count"],
  ["Last share", "last_share_at", "time"], ["Region (last share)", "region", "text"],
  ["Regions (24 h)", "regions_24h", "list"], ["Workers", "workers", "count"],
];
const WORKER_COLUMNS = [
  ["worker", "text"], ["hashrate.1m", "hashrate"], ["hashrate.1h", "hashrate"],
  ["hashrate.24h", "hashrate"], ["shares.accepted", "count"], ["shares.rejected", "count"],
  ["best_share.week", "diff"], ["best_share.ever", "diff"], ["blocks_found", "count"],
  ["last_share_at", "time"], ["region", "text"],
];
const BLOCK_COLUMNS = [
  ["height", "count"], ["found_at", "time"], ["worker", "text"], ["region", "text"],
  ["accepted", "bool"], ["reward_sat", "sat"], ["hash", "text"],
];
async function getJson(url) {
  const res = await fetch(url);
  const body = await res.json();
  return { status: res.status, body };
}
function fillRows(tbody, items, columns) {
  tbody.replaceChildren(...items.map((item) => {
    const tr = document.createElement("tr");
    for (const [field, kind] of columns) tr.append(cell(field, at(item, field), kind));
    return tr;
  }));
}
function pager(name, answer, load) {
  const info = document.getElementById(name + "-page");
  const shown = answer[name].length;
  info.textContent = shown === 0 ? "none" :
    (answer.offset + 1) + "–" + (answer.offset + shown) + " of " + answer.total;
  info.dataset.total = String(answer.total);
  const prev = document.getElementById(name + "-prev");
  const next = document.getElementById(name + "-next");
  prev.disabled = answer.offset === 0;
  next.disabled = answer.next_offset === null;
  prev.onclick = () => load(Math.max(0, answer.offset - answer.limit));
  next.onclick = () => load(answer.next_offset);
}
async function main() {
  const base = "/api/v1/miners/" + encodeURIComponent(ADDRESS);
  const summary = await getJson(base);
  if (summary.status !== 200) {
    document.getElementById("message").textContent = summary.body.error;
    document.body.dataset.state = summary.status === 404 ? "not-found" : "error";
    return;
  }
  const tbody = document.getElementById("summary");
  tbody.replaceChildren(...SUMMARY.map(([label, field, kind]) => {
    const tr = document.createElement("tr");
    const th = document.createElement("th");
    th.textContent = label;
    tr.append(th, cell(field, at(summary.body, field), kind));
    return tr;
  }));
  document.getElementById("as-of").textContent = "Figures as of " + when(summary.body.as_of);
  const loadWorkers = async (offset) => {
    const a = await getJson(base + "/workers?limit=" + PAGE + "&offset=" + offset);
    const tbody = document.getElementById("workers");
    fillRows(tbody, a.body.workers, WORKER_COLUMNS);
    tbody.dataset.offset = String(a.body.offset);
    pager("workers", a.body, loadWorkers);
  };
  const loadBlocks = async (offset) => {
    const a = await getJson(base + "/blocks?limit=" + PAGE + "&offset=" + offset);
    const tbody = document.getElementById("blocks");
    fillRows(tbody, a.body.blocks, BLOCK_COLUMNS);
    tbody.dataset.offset = String(a.body.offset);
    pager("blocks", a.body, loadBlocks);
  };
  await Promise.all([loadWorkers(0), loadBlocks(0)]);
  document.body.dataset.state = "ready";
}
main().catch((error) => {
  document.getElementById("message").textContent = String(error);
  document.body.dataset.state = "error";
});
`;

/** Rows per page of the workers and blocks tables, unless the page's `?rows=` says otherwise. */
export const PAGE_ROWS = 10;

export function renderMinerPage(
  address: string,
  network: NetworkName,
  rows: number = PAGE_ROWS,
): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Miner ${escapeHtml(address)}</title>
<style>${STYLE}</style>
</head>
<body data-state="loading">
<h1>Miner <span class="address">${escapeHtml(address)}</span></h1>
<p class="muted">${escapeHtml(network)} · <span id="as-of">loading…</span></p>
<p id="message" class="error"></p>
<table><tbody id="summary"></tbody></table>
<h2>Workers <span class="muted" id="workers-page"></span></h2>
<p><button id="workers-prev">previous</button><button id="workers-next">next</button></p>
<table>
  <thead><tr><th>Worker</th><th>1 min</th><th>1 h</th><th>24 h</th><th>Accepted</th><th>Rejected</th><th>Best week</th><th>Best ever</th><th>Blocks</th><th>Last share</th><th>Region</th></tr></thead>
  <tbody id="workers"></tbody>
</table>
<h2>Blocks <span class="muted" id="blocks-page"></span></h2>
<p><button id="blocks-prev">previous</button><button id="blocks-next">next</button></p>
<table>
  <thead><tr><th>Height</th><th>Found</th><th>Worker</th><th>Region</th><th>Accepted</th><th>Reward</th><th>Hash</th></tr></thead>
  <tbody id="blocks"></tbody>
</table>
<script>
const ADDRESS = ${scriptJson(address)};
const PAGE = ${rows};
${SCRIPT}
</script>
</body>
</html>
`;
}

export function renderAddressForm(network: NetworkName, error?: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Your mining</title>
<style>${STYLE}</style>
</head>
<body>
<h1>Your mining</h1>
${error ? `<p class="error">${escapeHtml(error)}</p>` : ""}
<form method="get" action="/">
  <label>Payout address (${escapeHtml(network)})
    <input name="address" size="64" autofocus></label>
  <button>Show</button>
</form>
</body>
</html>
`;
}
