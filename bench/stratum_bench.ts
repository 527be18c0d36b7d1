/**
 * Stratum benchmark scenarios against the engine, printed as a table.
 *
 *   deno task bench:stratum                      # starts regtest node + engine
 *   deno task bench:stratum -- --only max,idle10k --duration 20
 *   deno task bench:stratum -- --external 127.0.0.1:3333 --pid 1234 --user <addr>
 *
 * See bench/README.md.
 */

import { parseArgs } from "node:util";
import { REGTEST_ADDRESS, ROOT, startBenchStack } from "./bench_stack.ts";

interface Scenario {
  name: string;
  what: string;
  args: string[];
}

interface LoadReport {
  mode: string;
  ready: number;
  duration_s: number;
  accepted_per_s: number;
  rejected: number;
  rejects: Record<string, { count: number; message: string }>;
  unanswered: number;
  window_full: number;
  latency_us: { p50: number; p99: number; p999: number };
  generator: { us_per_response: number; hashes_inline: number };
  engine?: {
    cpu_pct: number;
    us_per_response: number;
    rss_kb_before: number;
    rss_kb_peak: number;
  };
  idle_bytes_per_conn?: number;
}

const LOADGEN = `${ROOT}bench/loadgen/stratum_load`;

function scenarios(duration: number, rate1k: number, rate5k: number): Scenario[] {
  const d = String(duration);
  // Idle first, on a fresh engine: RSS before/after is then only the idle connections.
  return [
    {
      name: "idle10k",
      what: "10,000 idle authorized connections",
      args: ["--idle", "10000", "--duration", String(Math.min(duration, 5))],
    },
    {
      name: "1k",
      what: `1,000 connections, ${rate1k}/s`,
      args: ["--conns", "1000", "--rate", String(rate1k), "--duration", d],
    },
    {
      name: "5k",
      what: `5,000 connections, ${rate5k}/s`,
      args: ["--conns", "5000", "--rate", String(rate5k), "--duration", d],
    },
    {
      name: "max",
      what: "100 connections, saturating (window 16)",
      args: ["--conns", "100", "--saturate", "--window", "16", "--duration", d],
    },
  ];
}

async function runLoad(port: number, host: string, user: string, pid: number, args: string[]) {
  const command = new Deno.Command(LOADGEN, {
    args: [
      "--host",
      host,
      "--port",
      String(port),
      "--user",
      user,
      "--pid",
      String(pid),
      "--json",
      ...args,
    ],
    stdout: "piped",
    stderr: "inherit",
  });
  const out = await command.output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (out.code !== 0 || !text) throw new Error(`stratum_load exited ${out.code}`);
  return JSON.parse(text.split("\n").at(-1)!) as LoadReport;
}

function fmt(n: number | undefined, digits = 0): string {
  return n === undefined || n < 0 ? "-" : n.toFixed(digits);
}

function printTable(rows: { scenario: Scenario; report: LoadReport }[]): void {
  const header = [
    "scenario",
    "ready",
    "accepted/s",
    "rejected",
    "p50 ms",
    "p99 ms",
    "p999 ms",
    "engine cpu%",
    "engine us/resp",
    "engine rss MB",
    "idle B/conn",
    "gen us/resp",
  ];
  const lines = rows.map(({ scenario, report: r }) => [
    scenario.name,
    String(r.ready),
    r.mode === "idle" ? "-" : fmt(r.accepted_per_s),
    r.mode === "idle" ? "-" : String(r.rejected),
    fmt(r.latency_us.p50 / 1000, 2),
    fmt(r.latency_us.p99 / 1000, 2),
    fmt(r.latency_us.p999 / 1000, 2),
    fmt(r.engine?.cpu_pct, 1),
    r.mode === "idle" ? "-" : fmt(r.engine?.us_per_response, 2),
    fmt(r.engine ? r.engine.rss_kb_peak / 1024 : undefined, 1),
    fmt(r.idle_bytes_per_conn),
    r.mode === "idle" ? "-" : fmt(r.generator.us_per_response, 2),
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
  const row = (cells: string[]) =>
    "| " + cells.map((c, i) => c.padEnd(widths[i])).join(" | ") + " |";
  console.log(row(header));
  console.log("|" + widths.map((w) => "-".repeat(w + 2)).join("|") + "|");
  for (const l of lines) console.log(row(l));
  for (const { scenario, report: r } of rows) {
    const reasons = Object.entries(r.rejects).map(([code, v]) =>
      `${code} ${v.message}: ${v.count}`
    );
    const notes = [
      reasons.length ? `rejects ${reasons.join(", ")}` : "",
      r.unanswered ? `${r.unanswered} unanswered` : "",
      r.window_full ? `${r.window_full} not sent (window full: engine behind)` : "",
      r.generator.hashes_inline ? `${r.generator.hashes_inline} hashes during the run` : "",
    ].filter((n) => n);
    console.log(`${scenario.name}: ${scenario.what}${notes.length ? "; " + notes.join("; ") : ""}`);
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    args: Deno.args[0] === "--" ? Deno.args.slice(1) : Deno.args,
    options: {
      only: { type: "string" },
      duration: { type: "string", default: "10" },
      "rate-1k": { type: "string", default: "10000" },
      "rate-5k": { type: "string", default: "25000" },
      difficulty: { type: "string", default: "1e-9" },
      testbits: { type: "string", default: "1e00ffff" },
      external: { type: "string" },
      pid: { type: "string" },
      user: { type: "string", default: REGTEST_ADDRESS },
      out: { type: "string" },
    },
  });
  const build = await new Deno.Command("make", { args: ["-s", "-C", `${ROOT}bench/loadgen`] })
    .output();
  if (build.code !== 0) throw new Error(new TextDecoder().decode(build.stderr));

  let host = "127.0.0.1";
  let port: number;
  let pid: number;
  let stop = async () => {};
  if (values.external) {
    const [h, p] = values.external.split(":");
    host = h;
    port = Number(p);
    pid = Number(values.pid ?? 0);
    if (!pid) console.error("stratum_bench: no --pid: engine CPU and RSS omitted");
  } else {
    const stack = await startBenchStack({
      difficulty: Number(values.difficulty),
      testbits: values.testbits!,
    });
    console.error(`stratum_bench: engine pid ${stack.enginePid}, logs in ${stack.dir}`);
    ({ stratumPort: port, enginePid: pid, stop } = stack);
  }
  const only = values.only?.split(",");
  const chosen = scenarios(
    Number(values.duration),
    Number(values["rate-1k"]),
    Number(values["rate-5k"]),
  )
    .filter((s) => !only || only.includes(s.name));
  const rows: { scenario: Scenario; report: LoadReport }[] = [];
  try {
    for (const scenario of chosen) {
      console.error(`stratum_bench: ${scenario.name}: ${scenario.what}`);
      rows.push({ scenario, report: await runLoad(port, host, values.user!, pid, scenario.args) });
    }
  } finally {
    await stop();
  }
  printTable(rows);
  if (values.out) {
    await Deno.writeTextFile(
      values.out,
      JSON.stringify(rows.map((r) => ({ name: r.scenario.name, ...r.report })), null, 2),
    );
  }
  return 0;
}

if (import.meta.main) Deno.exit(await main());
