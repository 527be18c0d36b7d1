/**
 * Template propagation primary -> relay on loopback, by template size,
 * cold (every transaction new to the relay: sent in full) and warm (the
 * relay holds them: sent as 32-byte references).
 *
 *   deno run -A bench/relay_bench.ts [--samples 20] [--cold 20] [--sizes 1,1000,4000]
 *                                    [--tls off|on|both]
 *
 * Starts two regtest nodes, a primary engine (update_interval 1 s, so it
 * pushes a template every second) and one passthrough relay. For each size
 * and cold sample it mines the primary's mempool empty, fills it with that
 * many new transactions (`fillmempool`) and collects the relay's "template
 * received" log lines: the first template with the new transactions is
 * cold (txs_full = txs), the following ones are warm (references). Latency
 * is the relay's wall clock after the template was decoded, turned into a
 * workbase and published to miners, minus the primary's send time (taken
 * when the generator handed the workbase to the relay server, so it
 * includes encoding on the primary). Both engines share this host's clock.
 * Prints p50/p99/max per kind, the frame size and the link's own delay
 * (half the heartbeat RTT), and where the time went (p50s from the relay's
 * log line): arrive = primary's send time to the frame complete on the
 * relay (primary encode, queueing, socket), decode = payload to workbase,
 * wbase = workbase_from_parts alone (part of decode), publish = the relay's
 * generator publish (jobs, miners' notify). Figures only; nothing asserts.
 *
 * --tls both (the default) runs everything twice on the same nodes, first
 * with a plaintext link, then over TLS (relay.tls: a private CA made with the
 * openssl CLI, lib/tls_certs.ts), and ends with the p50 and p99
 * latency of each size and kind side by side: what TLS costs a template.
 */

import { startBitcoinNode } from "../lib/harness/bitcoin_node.ts";
import {
  type Engine,
  passthroughOverrides,
  primaryOverrides,
  relayToken,
  scrapeMetrics,
  startEngine,
} from "../lib/harness/engine.ts";
import { freePort, waitFor } from "../lib/ports.ts";
import { regtestAddress } from "../lib/harness/stratum_miner.ts";
import { makeCa, makeServerCert } from "../lib/tls_certs.ts";

function option(name: string): string | undefined {
  const at = Deno.args.indexOf(`--${name}`);
  return at >= 0 ? Deno.args[at + 1] : undefined;
}
const samples = Number(option("samples") ?? 20);
const coldSamples = Number(option("cold") ?? samples);
const sizes = (option("sizes") ?? "1,1000,4000").split(",").map(Number);
const tlsOption = option("tls") ?? "both";
if (!["off", "on", "both"].includes(tlsOption)) {
  throw new Error(`--tls must be off, on or both (got ${tlsOption})`);
}
const tlsModes = tlsOption === "both" ? [false, true] : [tlsOption === "on"];

interface Received {
  latency_ms: number;
  arrive_ms: number;
  decode_ms: number;
  workbase_ms: number;
  publish_ms: number;
  bytes: number;
  txs: number;
  txs_full: number;
}

function received(relay: Engine): Received[] {
  return relay.logLines()
    .filter((l) => l.component === "relay_client" && l.msg === "template received")
    .map((l) => ({
      latency_ms: l.latency_ms as number,
      arrive_ms: (l.arrive_ms as number) ?? NaN,
      decode_ms: l.decode_ms as number,
      workbase_ms: (l.workbase_ms as number) ?? NaN,
      publish_ms: (l.publish_ms as number) ?? NaN,
      bytes: l.bytes as number,
      txs: l.txs as number,
      txs_full: l.txs_full as number,
    }));
}

interface Pushed {
  workbase_id: number;
  queue_ms: number;
  serialize_ms: number;
  fan_out_ms: number;
  fan_out_cpu_ms: number;
}

/** The primary's side of templates the relay received: p50s by workbase id. */
function primarySide(primary: Engine, relay: Engine, size: number): string {
  const ids = new Set(
    relay.logLines()
      .filter((l) => l.msg === "template received" && (l.txs as number) >= size)
      .map((l) => l.primary_workbase_id as number),
  );
  const got: Pushed[] = primary.logLines()
    .filter((l) => l.component === "relay_server" && l.msg === "template pushed")
    .filter((l) => ids.has(l.workbase_id as number))
    .map((l) => l as unknown as Pushed);
  const p50 = (pick: (r: Pushed) => number) =>
    quantile(got.map(pick).sort((a, b) => a - b), 0.5)?.toFixed(2) ?? "-";
  return `${String(size).padStart(5)}  primary (all ${got.length}): queue p50 ${
    p50((r) => r.queue_ms)
  } ms, serialize p50 ${p50((r) => r.serialize_ms)} ms, fan-out p50 ${
    p50((r) => r.fan_out_ms)
  } ms (CPU ${p50((r) => r.fan_out_cpu_ms)} ms)`;
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

function row(size: number, kind: string, got: Received[]): string {
  const lat = got.map((r) => r.latency_ms).sort((a, b) => a - b);
  const p50 = (pick: (r: Received) => number) => quantile(got.map(pick).sort((a, b) => a - b), 0.5);
  const kib = got.reduce((n, r) => n + r.bytes, 0) / got.length / 1024;
  const f = (v: number, w = 7) => v.toFixed(2).padStart(w);
  return `${String(size).padStart(5)}  ${kind.padEnd(4)} ${String(got.length).padStart(3)}  ${
    kib.toFixed(1).padStart(10)
  }  ${f(quantile(lat, 0.5))}  ${f(quantile(lat, 0.99))}  ${f(lat[lat.length - 1])}  ${
    f(p50((r) => r.arrive_ms), 9)
  }  ${f(p50((r) => r.decode_ms), 9)}  ${f(p50((r) => r.workbase_ms), 9)}  ${
    f(p50((r) => r.publish_ms), 9)
  }`;
}

interface Figures {
  /** `${size} ${kind}` -> sorted latencies */
  latency: Map<string, number[]>;
  rttMs: number;
  linkUpMs: number;
}

/** Certificates for a TLS run: a CA in dir and the primary's certificate it signs. */
async function tlsSettings(dir: string) {
  const ca = await makeCa(dir);
  const server = await makeServerCert(dir, ca);
  return { primary: { cert: server.cert, key: server.key }, relay: { ca: ca.cert } };
}

async function runMode(tls: boolean, dir: string): Promise<Figures> {
  const token = relayToken();
  const relayPort = freePort();
  const common = { update_interval: 1, events: { enabled: false } };
  const certs = tls ? await tlsSettings(dir) : undefined;
  const primary = await startEngine(primaryNode, {
    ...common,
    ...primaryOverrides(token, relayPort),
    ...(certs ? { relay: { tls: certs.primary } } : {}),
  });
  const started = performance.now();
  const relay = await startEngine(relayNode, {
    ...common,
    ...passthroughOverrides({ relayPort, authToken: token, region: "us-east" }),
    ...(certs ? { relay: { tls: certs.relay } } : {}),
  }, { readyOn: "metrics" });
  const figures: Figures = { latency: new Map(), rttMs: NaN, linkUpMs: NaN };
  try {
    await waitFor(async () => (await scrapeMetrics(relay)).get("ckpool_relay_link_up") === 1, {
      what: "the relay link up",
    });
    figures.linkUpMs = performance.now() - started;
    await waitFor(
      async () => (await scrapeMetrics(relay)).get("ckpool_relay_primary_rtt_seconds"),
      {
        what: "a first RTT",
      },
    );
    console.log(
      `template propagation primary -> relay, loopback, TLS ${tls ? "on" : "off"}: ` +
        `${coldSamples} cold and ${samples} warm templates per size\n`,
    );
    console.log(
      "  txs  kind   n  frame KiB   p50 ms   p99 ms   max ms  arrive p50  decode p50" +
        "  wbase p50  publish p50",
    );
    const address = regtestAddress();
    for (const size of sizes) {
      const cold: Received[] = [];
      const warm: Received[] = [];
      while (cold.length < coldSamples || warm.length < samples) {
        // Empty the mempool, then fill it with `size` transactions the relay never saw.
        for (let i = 0; i < 5; i++) {
          const info = await primaryNode.rpc<{ size: number }>("getmempoolinfo", []);
          if (info.size === 0) break;
          await primaryNode.rpc("generatetoaddress", [1, address]);
        }
        const from = received(relay).length;
        for (let left = size; left > 0; left -= 10_000) {
          await primaryNode.rpc("fillmempool", [Math.min(left, 10_000)]);
        }
        const full = (r: Received) => r.txs >= size && r.txs_full === r.txs;
        const { first } = await waitFor(() => {
          const at = received(relay).slice(from).findIndex(full);
          return at >= 0 && { first: from + at };
        }, { what: `a cold template of ${size} txs`, timeoutMs: 30_000 });
        const wantWarm = warm.length < samples ? 2 : 0;
        const got = await waitFor(() => {
          const all = received(relay);
          return all.length > first + wantWarm && all.slice(first, first + 1 + wantWarm);
        }, { what: `warm templates of ${size} txs`, timeoutMs: 30_000 });
        if (cold.length < coldSamples) cold.push(got[0]);
        for (const r of got.slice(1)) {
          if (r.txs >= size && r.txs_full < r.txs && warm.length < samples) warm.push(r);
        }
      }
      console.log(row(size, "cold", cold));
      console.log(row(size, "warm", warm));
      console.log(primarySide(primary, relay, size));
      for (const [kind, got] of [["cold", cold], ["warm", warm]] as const) {
        figures.latency.set(`${size} ${kind}`, got.map((r) => r.latency_ms).sort((a, b) => a - b));
      }
    }
    const m = await scrapeMetrics(relay);
    figures.rttMs = 1000 * (m.get("ckpool_relay_primary_rtt_seconds") ?? NaN);
    console.log(`\nlink delay (RTT/2 from heartbeats): ${(figures.rttMs / 2).toFixed(3)} ms`);
    console.log(`relay start to link up: ${figures.linkUpMs.toFixed(0)} ms\n`);
  } finally {
    await relay.stop();
    await primary.stop();
  }
  return figures;
}

/** p50 and p99 of each size and kind, plaintext next to TLS. */
function compare(off: Figures, on: Figures): void {
  const f = (v: number | undefined) => (v ?? NaN).toFixed(2).padStart(8);
  console.log("TLS cost per template (latency ms, loopback):\n");
  console.log("  txs  kind   p50 off   p50 on  p50 diff   p99 off   p99 on  p99 diff");
  for (const key of off.latency.keys()) {
    const a = off.latency.get(key)!, b = on.latency.get(key) ?? [];
    const [size, kind] = key.split(" ");
    const p50a = quantile(a, 0.5), p50b = quantile(b, 0.5);
    const p99a = quantile(a, 0.99), p99b = quantile(b, 0.99);
    console.log(
      `${size.padStart(5)}  ${kind}  ${f(p50a)} ${f(p50b)}  ${f(p50b - p50a)}  ${f(p99a)} ${
        f(p99b)
      }  ${f(p99b - p99a)}`,
    );
  }
  console.log(
    `\nheartbeat RTT: ${off.rttMs.toFixed(3)} ms off, ${on.rttMs.toFixed(3)} ms on; ` +
      `relay start to link up: ${off.linkUpMs.toFixed(0)} ms off, ${on.linkUpMs.toFixed(0)} ms on`,
  );
}

const primaryNode = await startBitcoinNode();
const relayNode = await startBitcoinNode();
const certDir = await Deno.makeTempDir({ prefix: "relay-bench-tls-" });
try {
  const results: Figures[] = [];
  for (const tls of tlsModes) results.push(await runMode(tls, certDir));
  if (results.length === 2) compare(results[0], results[1]);
} finally {
  await relayNode.stop();
  await primaryNode.stop();
  await Deno.remove(certDir, { recursive: true }).catch(() => {});
}
