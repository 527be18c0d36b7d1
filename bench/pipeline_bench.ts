/**
 * End-to-end event pipeline benchmark: a synthetic engine sends BENCH_EVENTS
 * envelopes (default 200000) to the publisher's socket as fast as it can
 * (or at BENCH_RATE events/s); the run ends when every event is a row in
 * PostgreSQL and an entry in Redis. Prints sustained throughput and p50/p99
 * lag from event ts to PostgreSQL commit (events.committed_at - ts).
 *
 *   deno run --allow-all --unstable-net bench/pipeline_bench.ts
 */

import { waitFor } from "../tests/harness/ports.ts";
import { FakeEngine } from "../tests/functions/_engine.ts";
import { metric } from "../tests/functions/_functions.ts";
import { startPipeline } from "../tests/functions/_stack.ts";

const TOTAL = Number(Deno.env.get("BENCH_EVENTS") ?? 200_000);
const RATE = Number(Deno.env.get("BENCH_RATE") ?? 0);
const CONCURRENCY = 256;

const stack = await startPipeline({
  region: "eu",
  publisherEnv: {
    PUBLISHER_MAX_INFLIGHT: "4096",
    PUBLISHER_FSYNC: Deno.env.get("BENCH_FSYNC") ?? "batch",
  },
  collectorEnv: { COLLECTOR_BATCH_MAX: "5000", COLLECTOR_BATCH_WAIT_MS: "20" },
});
const engine = new FakeEngine({ region: "eu", clientPath: `${stack.dir}/bench-client.sock` });
const encoder = new TextEncoder();
try {
  console.log(`pipeline bench: ${TOTAL} events${RATE ? ` at ${RATE}/s` : " as fast as possible"}`);
  const started = performance.now();
  let sent = 0;
  while (sent < TOTAL) {
    const n = Math.min(CONCURRENCY, TOTAL - sent);
    const batch = Array.from({ length: n }, () => engine.next());
    for (const e of batch) await engine.send(stack.socketPath, e);
    sent += n;
    if (RATE > 0) {
      const due = started + (sent / RATE) * 1000;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  }
  const sendSeconds = (performance.now() - started) / 1000;
  await waitFor(async () => {
    const [row] = await stack.sql<{ n: number }[]>`select count(*)::int as n from events`;
    return row.n >= TOTAL;
  }, { timeoutMs: 30 * 60_000, intervalMs: 250, what: "all rows" });
  const pgSeconds = (performance.now() - started) / 1000;
  await waitFor(async () => (await stack.redisClient.xlen("events:share_submitted")) >= TOTAL, {
    timeoutMs: 10 * 60_000,
    intervalMs: 250,
    what: "all stream entries",
  });
  const totalSeconds = (performance.now() - started) / 1000;
  const [lag] = await stack.sql<{ p50: number; p99: number; max: number }[]>`
    select percentile_cont(0.5) within group (order by l) as p50,
           percentile_cont(0.99) within group (order by l) as p99, max(l) as max
    from (select extract(epoch from committed_at - ts) * 1000 as l from events) x`;
  const invalid = (await metric(stack.publisherPort, "publisher_events_invalid_total")) ?? 0;
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  console.log(
    `engine send rate:        ${fmt(TOTAL / sendSeconds)} events/s (${sendSeconds.toFixed(1)} s)`,
  );
  console.log(
    `committed to PostgreSQL: ${fmt(TOTAL / pgSeconds)} events/s (${pgSeconds.toFixed(1)} s)`,
  );
  console.log(
    `end-to-end (PG + Redis): ${fmt(TOTAL / totalSeconds)} events/s (${totalSeconds.toFixed(1)} s)`,
  );
  console.log(
    `lag ts -> PG commit:     p50 ${Number(lag.p50).toFixed(0)} ms, p99 ${
      Number(lag.p99).toFixed(0)
    } ms, max ${Number(lag.max).toFixed(0)} ms`,
  );
  console.log(
    `invalid datagrams: ${invalid}; payload ~${
      encoder.encode(JSON.stringify(engine.next())).length
    } bytes`,
  );
} finally {
  engine.close();
  await stack.close();
}
