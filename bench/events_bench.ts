/**
 * Event pipeline under Stratum load: the C load generator submits shares at
 * a fixed rate (default 10,000/s) while a Deno consumer reads the engine's
 * event socket. Prints whether every event arrived (seq contiguous, the
 * engine's dropped counter 0), the engine CPU per share with events on and
 * off (the difference is what emitting costs), and the highest event rate
 * sustained when the generator submits as fast as the engine answers.
 *
 *   deno run -A --unstable-net bench/events_bench.ts [--rate 10000] [--duration 10]
 *
 * Needs `make -C bench/loadgen` and `make -C ckpool`. Figures, not a test.
 */

import { parseArgs } from "node:util";
import { waitFor } from "../lib/ports.ts";
import { startBitcoinNode } from "../lib/harness/bitcoin_node.ts";
import { startEngine } from "../lib/harness/engine.ts";
import { REGTEST_ADDRESS, ROOT } from "./bench_stack.ts";

const args = parseArgs({
  options: {
    rate: { type: "string", default: "10000" },
    duration: { type: "string", default: "10" },
    conns: { type: "string", default: "200" },
  },
});
const LOADGEN = `${ROOT}bench/loadgen/stratum_load`;

interface Report {
  accepted_per_s: number;
  rejected: number;
  unanswered: number;
  engine?: { cpu_pct: number; us_per_response: number };
}

async function loadgen(port: number, pid: number, extra: string[]): Promise<Report> {
  const out = await new Deno.Command(LOADGEN, {
    args: [
      "--port",
      String(port),
      "--user",
      REGTEST_ADDRESS,
      "--pid",
      String(pid),
      "--json",
      ...extra,
    ],
    stdout: "piped",
    stderr: "null",
  }).output();
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

async function metric(port: number, name: string): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return text.split("\n").filter((l) => l.startsWith(name + "{") || l.startsWith(name + " "))
    .reduce((sum, l) => sum + Number(l.slice(l.lastIndexOf(" ") + 1)), 0);
}

const dir = await Deno.makeTempDir({ prefix: "events-bench-" });
// The TypeScript node: bitcoind has no -testbits.
const node = await startBitcoinNode({ kind: "regtest-ts", testbits: "1e00ffff" });
const common = {
  mindiff: 1e-10,
  startdiff: 1e-10,
  maxdiff: 1e-10,
  max_conns_per_ip: 0,
  request_rate: 1e6,
  request_burst: 1e6,
  blockpoll_ms: 100,
};

// Consumer: counts events and checks seq per boot.
const path = `${dir}/events.sock`;
const socket = Deno.listenDatagram({ transport: "unixpacket", path });
let received = 0, lastSeq = 0, gaps = 0, outOfOrder = 0;
const reading = (async () => {
  try {
    for await (const [bytes] of socket) {
      const seq = JSON.parse(new TextDecoder().decode(bytes)).seq as number;
      received++;
      if (seq !== lastSeq + 1) seq > lastSeq ? gaps += seq - lastSeq - 1 : outOfOrder++;
      lastSeq = seq;
    }
  } catch { /* closed */ }
})();

const rate = args.values.rate!, duration = args.values.duration!, conns = args.values.conns!;
const paced = ["--conns", conns, "--rate", rate, "--duration", duration];

const on = await startEngine(node, {
  ...common,
  events: { enabled: true, socket_path: path, hashrate_interval_sec: 3600 },
}, { readyTimeoutMs: 60_000 });
const withEvents = await loadgen(on.stratumPort, on.process.pid, paced);
await waitFor(async () => (await metric(on.metricsPort, "ckpool_events_queued")) === 0);
const emitted1 = await metric(on.metricsPort, "ckpool_events_emitted_total");
const dropped1 = await metric(on.metricsPort, "ckpool_events_dropped_total");
await waitFor(() => received >= emitted1, { what: "the consumer to catch up" });
const paced1 = { received, lastSeq, gaps, outOfOrder, emitted: emitted1, dropped: dropped1 };

const saturated = await loadgen(on.stratumPort, on.process.pid, [
  "--conns",
  "100",
  "--saturate",
  "--window",
  "16",
  "--duration",
  duration,
]);
await waitFor(async () => (await metric(on.metricsPort, "ckpool_events_queued")) === 0, {
  timeoutMs: 120_000,
});
const dropped2 = await metric(on.metricsPort, "ckpool_events_dropped_total");
await on.stop();

const off = await startEngine(node, { ...common, events: { enabled: false } }, {
  readyTimeoutMs: 60_000,
});
const withoutEvents = await loadgen(off.stratumPort, off.process.pid, paced);
await off.stop();
socket.close();
await reading;
await node.stop();
await Deno.remove(dir, { recursive: true });

const us = (r: Report) => r.engine?.us_per_response ?? NaN;
console.log(`paced: ${conns} connections, ${rate} submits/s for ${duration} s`);
console.log(
  `  accepted ${withEvents.accepted_per_s.toFixed(0)}/s, rejected ${withEvents.rejected}, ` +
    `unanswered ${withEvents.unanswered}`,
);
console.log(
  `  events: emitted ${paced1.emitted}, received ${paced1.received}, last seq ${paced1.lastSeq}, ` +
    `seq gaps ${paced1.gaps}, out of order ${paced1.outOfOrder}, dropped ${paced1.dropped}` +
    (paced1.gaps === 0 && paced1.dropped === 0 && paced1.received === paced1.lastSeq
      ? "  -> no event lost"
      : "  -> EVENTS LOST"),
);
console.log(
  `  engine CPU per share: ${us(withEvents).toFixed(2)} us with events, ` +
    `${us(withoutEvents).toFixed(2)} us without -> emission ~${
      (us(withEvents) - us(withoutEvents)).toFixed(2)
    } us per event (engine CPU ${withEvents.engine?.cpu_pct.toFixed(0)}% vs ` +
    `${withoutEvents.engine?.cpu_pct.toFixed(0)}% of a core)`,
);
console.log(`saturated: 100 connections x 16 outstanding for ${duration} s`);
console.log(
  `  accepted ${saturated.accepted_per_s.toFixed(0)} shares/s; events received ${
    received - paced1.received
  }, dropped ${dropped2 - dropped1}, seq gaps ${gaps - paced1.gaps}; ` +
    `sustained ~${((received - paced1.received) / Number(duration)).toFixed(0)} events/s ` +
    `(delivery may finish after the load stops)`,
);
