/**
 * Latency on the whole topology of `deno task up`, measured as the brief means
 * it: the round trip of a share submission from a client at the eu vantage
 * point reaching each region (us-east and asia through their latency bridge),
 * and from a client inside each region; and the template propagation primary
 * -> relay each relay engine reports. Prints a table of every figure; asserts
 * only the ordering and rough size (us-east ~+50 ms over eu, asia ~+100 ms
 * over us-east, propagation at least the link's one-way delay less three
 * jitter deviations) with generous bounds.
 */

import assert from "node:assert/strict";
import { waitFor } from "../../lib/ports.ts";
import { mineShare, submitShare } from "../../lib/harness/stratum_miner.ts";
import { StratumClient } from "../../lib/stratum/client.ts";
import { metric, propagationFloorMs } from "../../lib/harness/metrics.ts";
import { startSystem, systemTest } from "./_target.ts";
import { type HostPort, REGION_NAMES, RELAY_NAMES } from "../../lib/harness/system.ts";

const WORKER = "bcrt1qw33xwttyv4kk7ttdd9hx2u3dv9jxgu3p3snjgx.latency";
const SAMPLES = 7;
const LATENCY_SUMMARY = "ckpool_relay_template_latency_seconds";

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** Median share-submit round trip through `via`, ms (the share is mined before the clock starts). */
async function shareRtt(via: HostPort): Promise<number> {
  const client = await StratumClient.connect(via);
  try {
    await client.subscribe("system-latency/1.0");
    assert.equal((await client.authorize(WORKER)).result, true);
    await client.suggestDifficulty(1e-9);
    await client.nextNotify();
    const samples: number[] = [];
    for (let i = 0; i < SAMPLES; i++) {
      const share = mineShare(client, client.currentJob!);
      const began = performance.now();
      await submitShare(client, WORKER, share);
      samples.push(performance.now() - began);
    }
    return median(samples);
  } finally {
    await client.close();
  }
}

systemTest(
  "system latency: eu-vantage share RTT orders eu < us-east < asia; propagation >= delay",
  async () => {
    const stack = await startSystem({ label: "latency" });
    try {
      const { regions } = stack.endpoints;
      const rows: string[][] = [];
      const fromEu: Record<string, number> = {};
      for (const name of REGION_NAMES) {
        const region = regions[name];
        if (!region.stratumFromEu) {
          throw new Error(`${stack.target}: no eu-vantage Stratum path to ${name} to measure`);
        }
        fromEu[name] = await shareRtt(region.stratumFromEu);
        const local = await shareRtt(region.stratum);
        rows.push([name, fromEu[name].toFixed(1), local.toFixed(1), `${region.latencyMs}`]);
      }
      const propagation: Record<string, number> = {};
      for (const name of RELAY_NAMES) {
        // The median over the templates received so far (the summary's p50).
        propagation[name] = 1000 * await waitFor(
          () => metric(regions[name].metricsUrl, `${LATENCY_SUMMARY}{quantile="0.5"}`),
          { timeoutMs: 30_000, what: `${name}'s template latency` },
        );
      }
      const header = ["region", "share RTT from eu (ms)", "share RTT local (ms)", "one-way (ms)"];
      console.log([header, ...rows].map((r) => r.map((c) => c.padEnd(24)).join("")).join("\n"));
      for (const name of RELAY_NAMES) {
        console.log(`template propagation eu -> ${name}: ${propagation[name].toFixed(1)} ms`);
      }

      const us = fromEu["us-east"] - fromEu.eu;
      const asia = fromEu.asia - fromEu["us-east"];
      assert.ok(us > 25 && us < 1_000, `us-east is ${us.toFixed(1)} ms slower than eu (~50)`);
      assert.ok(asia > 50 && asia < 2_000, `asia is ${asia.toFixed(1)} ms slower than us (~100)`);
      for (const name of RELAY_NAMES) {
        const r = regions[name];
        const floor = propagationFloorMs(r);
        assert.ok(
          propagation[name] >= floor,
          `${name} propagation ${propagation[name]} ms >= one-way ${r.latencyMs} ms - 3 x ` +
            `${r.jitterMs} ms jitter`,
        );
      }
    } finally {
      await stack.close();
    }
  },
);
