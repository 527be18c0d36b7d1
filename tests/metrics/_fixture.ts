/**
 * Everything that serves a Prometheus /metrics page, running for real on
 * loopback: a primary engine (eu) and a passthrough relay (us-east) with their
 * regtest nodes (tests/relay/_topology.ts), the event pipeline (NATS, Redis,
 * PostgreSQL, a publisher and a collector: tests/functions/_stack.ts) and the
 * health monitor polling both engines. A few envelopes from two boots of one
 * pool_instance go through the publisher so the collector's per-source gauges
 * have series too.
 */

import { startTopology, type Topology } from "../relay/_topology.ts";
import { type PipelineStack, startPipeline } from "../functions/_stack.ts";
import { FakeEngine } from "../functions/_engine.ts";
import { metric, spawnHealth, waitHealthy } from "../functions/_functions.ts";
import { freePort, waitFor } from "../../stack/lib/ports.ts";
import type { ManagedProcess } from "../../stack/lib/process.ts";

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
  close(): Promise<void>;
}

export async function scrape(url: string): Promise<string> {
  const res = await fetch(url);
  if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
  return await res.text();
}

/** Sends seq 1..n of a fresh boot of `poolInstance` through the publisher socket. */
async function sendBoot(stack: PipelineStack, poolInstance: string, n: number): Promise<string> {
  const fake = new FakeEngine({
    region: stack.region,
    poolInstance,
    clientPath: `${stack.dir}/fake-${crypto.randomUUID().slice(0, 8)}.sock`,
  });
  try {
    for (let i = 0; i < n; i++) await fake.send(stack.socketPath, fake.next());
    return fake.bootId;
  } finally {
    fake.close();
  }
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

    const fakePoolInstance = "ckpool-metrics-fake";
    await sendBoot(pipeline, fakePoolInstance, 2);
    await waitFor(
      async () => (await metric(pipeline.collectorPort, "collector_events_inserted_total")) === 2,
      { what: "the first boot's 2 events stored", timeoutMs: 30_000 },
    );
    await sendBoot(pipeline, fakePoolInstance, 3);
    await waitFor(
      async () => (await metric(pipeline.collectorPort, "collector_events_inserted_total")) === 5,
      { what: "the second boot's 3 events stored", timeoutMs: 30_000 },
    );

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
    return { topology, pipeline, targets, fakePoolInstance, close };
  } catch (error) {
    await close();
    throw error;
  }
}
