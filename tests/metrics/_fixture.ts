/**
 * Everything that serves a Prometheus /metrics page, running for real on
 * loopback: a primary engine (eu) and a passthrough relay (us-east) with their
 * regtest nodes (tests/relay/_topology.ts), the event pipeline (NATS, Redis,
 * PostgreSQL, a publisher and a collector: tests/functions/_stack.ts) and the
 * health monitor polling both engines. A few envelopes from two boots of one
 * pool_instance go through the publisher so the collector's per-source gauges
 * have series too (`secondBootId` is the one they must show).
 */

import { startTopology, type Topology } from "../relay/_topology.ts";
import { type PipelineStack, startPipeline } from "../../lib/harness/pipeline.ts";
import { FakeEngine } from "../../lib/harness/fake_engine.ts";
import { metric, spawnHealth, waitHealthy } from "../../lib/harness/functions.ts";
import { freePort, waitFor } from "../../lib/ports.ts";
import type { ManagedProcess } from "../../lib/process.ts";

export interface ScrapeTarget {
  /** What runs there: `engine primary`, `publisher`... */
  name: string;
  url: string;
}

export interface MetricsFixture {
  topology: Topology;
  pipeline: PipelineStack;
  /** Every /metrics page, engines first. */
  targets: ScrapeTarget[];
  /** The pool_instance the two fake boots used. */
  fakePoolInstance: string;
  /** The later of the two boots: seq 1..4 (the earlier sent 1..3, its 3 last of all). */
  secondBootId: string;
  close(): Promise<void>;
}

export async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return await res.text();
}

function fakeBoot(stack: PipelineStack, poolInstance: string): FakeEngine {
  return new FakeEngine({
    region: stack.region,
    poolInstance,
    clientPath: `${stack.dir}/fake-${crypto.randomUUID().slice(0, 8)}.sock`,
  });
}

/** Sends the next `n` events of `fake` and waits until the collector stored `total` in all. */
async function sendAndStore(
  stack: PipelineStack,
  fake: FakeEngine,
  n: number,
  total: number,
): Promise<void> {
  for (let i = 0; i < n; i++) await fake.send(stack.socketPath, fake.next());
  await waitFor(
    async () => (await metric(stack.collectorPort, "collector_events_inserted_total")) === total,
    { what: `${total} events stored`, timeoutMs: 30_000 },
  );
}

export async function startMetricsFixture(): Promise<MetricsFixture> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const close = async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => {});
  };
  try {
    const pipeline = await startPipeline({ region: "us-east" });
    cleanups.push(() => pipeline.close());
    const topology = await startTopology({ relays: ["us-east"] });
    cleanups.push(() => topology.close());
    const [primary, relay] = [topology.primary.engine, topology.relays[0].engine];

    // Two starts of one engine: the first sends seq 1..2, the second 1..4, then a late
    // event of the first (seq 3) arrives, which must not take the gauges back.
    const fakePoolInstance = "ckpool-metrics-fake";
    const first = fakeBoot(pipeline, fakePoolInstance);
    const second = fakeBoot(pipeline, fakePoolInstance);
    cleanups.push(() => Promise.resolve(first.close()), () => Promise.resolve(second.close()));
    await sendAndStore(pipeline, first, 2, 2);
    await sendAndStore(pipeline, second, 4, 6);
    await sendAndStore(pipeline, first, 1, 7);

    const healthPort = freePort();
    const dir = await Deno.makeTempDir({ prefix: "tbg-metrics-health-" });
    cleanups.push(() => Deno.remove(dir, { recursive: true }));
    const regions = [["eu", primary], ["us-east", relay]].map(([name, engine]) => ({
      name,
      health_url: `http://127.0.0.1:${(engine as typeof primary).metricsPort}/health`,
      metrics_url: `http://127.0.0.1:${(engine as typeof primary).metricsPort}/metrics`,
      stratum: `127.0.0.1:${(engine as typeof primary).stratumPort}`,
    }));
    const health: ManagedProcess = spawnHealth(
      { REGIONS: JSON.stringify(regions), POLL_INTERVAL: "0.2" },
      healthPort,
      `${dir}/health.log`,
    );
    cleanups.push(() => health.stop());
    await waitHealthy(healthPort, health);
    await waitFor(async () => ((await metric(healthPort, "health_polls_total")) ?? 0) >= 1, {
      what: "the health monitor's first polling round",
    });

    const targets: ScrapeTarget[] = [
      { name: "engine primary (eu)", url: `http://127.0.0.1:${primary.metricsPort}/metrics` },
      { name: "engine relay (us-east)", url: `http://127.0.0.1:${relay.metricsPort}/metrics` },
      { name: "publisher", url: `http://127.0.0.1:${pipeline.publisherPort}/metrics` },
      { name: "collector", url: `http://127.0.0.1:${pipeline.collectorPort}/metrics` },
      { name: "health monitor", url: `http://127.0.0.1:${healthPort}/metrics` },
    ];
    return { topology, pipeline, targets, fakePoolInstance, secondBootId: second.bootId, close };
  } catch (error) {
    await close();
    throw error;
  }
}
