/**
 * Template propagation primary -> relay on loopback, by template size.
 *
 *   deno run -A bench/relay_bench.ts [--samples 25] [--sizes 1,1000,4000]
 *
 * Starts two regtest nodes, a primary engine (update_interval 1 s, so it
 * pushes a template every second) and one passthrough relay. For each size
 * it fills the primary's mempool to that many transactions (`fillmempool`),
 * skips two templates, then collects the relay's per-template latency from
 * its "template received" log lines: relay wall clock after the template was
 * parsed, turned into a workbase and published to miners, minus the
 * primary's send time (taken when the generator handed the workbase to the
 * relay server, so it includes serialization on the primary). Both engines
 * share this host's clock. Prints p50/p99/max, the template size and the
 * link's own delay (half the heartbeat RTT). Figures only; nothing asserts.
 */

import { startBitcoinNode } from "../tests/harness/bitcoin_node.ts";
import {
  type Engine,
  passthroughOverrides,
  primaryOverrides,
  relayToken,
  scrapeMetrics,
  startEngine,
} from "../tests/harness/engine.ts";
import { freePort, waitFor } from "../tests/harness/ports.ts";

function option(name: string): string | undefined {
  const at = Deno.args.indexOf(`--${name}`);
  return at >= 0 ? Deno.args[at + 1] : undefined;
}
const samples = Number(option("samples") ?? 25);
const sizes = (option("sizes") ?? "1,1000,4000").split(",").map(Number);

interface Received {
  latency_ms: number;
  bytes: number;
}

function received(relay: Engine): Received[] {
  return relay.logLines()
    .filter((l) => l.component === "relay_client" && l.msg === "template received")
    .map((l) => ({ latency_ms: l.latency_ms as number, bytes: l.bytes as number }));
}

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

const primaryNode = await startBitcoinNode();
const relayNode = await startBitcoinNode();
const token = relayToken();
const relayPort = freePort();
const common = { update_interval: 1, events: { enabled: false } };
const primary = await startEngine(primaryNode, {
  ...common,
  ...primaryOverrides(token, relayPort),
});
const relay = await startEngine(relayNode, {
  ...common,
  ...passthroughOverrides({ relayPort, authToken: token, region: "us-east" }),
});

try {
  await waitFor(async () => (await scrapeMetrics(relay)).get("ckpool_relay_primary_rtt_ms"), {
    what: "a first RTT",
  });
  console.log(
    `template propagation primary -> relay, loopback, ${samples} templates per size\n`,
  );
  console.log("  txs   template KiB   p50 ms   p99 ms   max ms");
  let inPool = 0;
  for (const size of sizes) {
    if (size > inPool) {
      for (let left = size - inPool; left > 0; left -= 10_000) {
        await primaryNode.rpc("fillmempool", [Math.min(left, 10_000)]);
      }
      inPool = size;
    }
    const start = received(relay).length + 2; // the next two may predate the fill
    const got = await waitFor(() => {
      const all = received(relay);
      return all.length >= start + samples && all.slice(start, start + samples);
    }, { what: `${samples} templates of ${size} txs`, timeoutMs: (samples + 10) * 2_000 });
    const lat = got.map((r) => r.latency_ms).sort((a, b) => a - b);
    const kib = got[got.length - 1].bytes / 1024;
    console.log(
      `${String(size).padStart(5)}   ${kib.toFixed(0).padStart(12)}   ${
        quantile(lat, 0.5).toFixed(2).padStart(6)
      }   ${quantile(lat, 0.99).toFixed(2).padStart(6)}   ${
        lat[lat.length - 1].toFixed(2).padStart(6)
      }`,
    );
  }
  const m = await scrapeMetrics(relay);
  const rtt = m.get("ckpool_relay_primary_rtt_ms") ?? NaN;
  console.log(`\nlink delay (RTT/2 from heartbeats): ${(rtt / 2).toFixed(3)} ms`);
} finally {
  await relay.stop();
  await primary.stop();
  await relayNode.stop();
  await primaryNode.stop();
}
