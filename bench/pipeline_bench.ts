/**
 * End-to-end event pipeline benchmark: a synthetic engine sends BENCH_EVENTS
 * envelopes (default 200000) to the publisher's socket as fast as it can
 * (or at BENCH_RATE events/s); the run ends when every event is a row in
 * PostgreSQL and an entry in Redis. Prints when each stage had all events
 * (sent, published to JetStream, committed to PostgreSQL, in Redis), the
 * sustained rates and p50/p99 lag from event ts to PostgreSQL commit.
 *
 * The sender is bench/pipeline_sender.c (built with `cc` into a temp dir):
 * blocking sends, like the engine's emitter, so it costs little CPU. With
 * BENCH_SENDER=deno (or without a C compiler) the Deno FakeEngine sends,
 * which spins on EAGAIN once the socket queue (net.unix.max_dgram_qlen) is full.
 *
 *   deno run --allow-all --unstable-net bench/pipeline_bench.ts
 */

import { FakeEngine } from "../lib/harness/fake_engine.ts";
import { metric } from "../lib/harness/functions.ts";
import { startPipeline } from "../lib/harness/pipeline.ts";
import { cpuSeconds } from "./pipeline_cpu.ts";
import { buildSender, sendWithC, sendWithDeno } from "./pipeline_send.ts";

const TOTAL = Number(Deno.env.get("BENCH_EVENTS") ?? 200_000);
const RATE = Number(Deno.env.get("BENCH_RATE") ?? 0);

const stack = await startPipeline({
  region: "eu",
  publisherEnv: {
    PUBLISHER_MAX_INFLIGHT: Deno.env.get("BENCH_INFLIGHT") ?? "8192",
    PUBLISHER_FSYNC: Deno.env.get("BENCH_FSYNC") ?? "batch",
  },
  collectorEnv: {
    COLLECTOR_BATCH_MAX: Deno.env.get("BENCH_BATCH") ?? "5000",
    COLLECTOR_BATCH_WAIT_MS: "20",
  },
});
const sender = Deno.env.get("BENCH_SENDER") === "deno" ? undefined : await buildSender(stack.dir);
const engine = new FakeEngine({ region: "eu", clientPath: `${stack.dir}/bench-client.sock` });
const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
try {
  console.log(
    `pipeline bench: ${TOTAL} events${RATE ? ` at ${RATE}/s` : " as fast as possible"}, ` +
      `sender ${sender ? "C (blocking sendto)" : "Deno"}`,
  );
  const roots = {
    publisher: stack.publisher.pid,
    "nats-server": stack.nats.pid,
    collector: stack.collector.pid,
    postgres: stack.pg.pid,
    redis: stack.redis.pid,
  };
  const cpuBefore = cpuSeconds(roots);
  const started = performance.now();
  const at: Record<string, number> = {};
  let senderCpu = 0;
  const sending = (sender
    ? sendWithC(sender, stack.socketPath, TOTAL, engine, RATE)
    : sendWithDeno(engine, stack.socketPath, TOTAL, RATE)).then((cpu) => {
      at.sent = performance.now();
      senderCpu = cpu;
    });
  while (at.redis === undefined) {
    await new Promise((r) =>
      setTimeout(r, 100)
    );
    const now = performance.now();
    if (at.published === undefined) {
      const n = (await metric(stack.publisherPort, "publisher_events_published_total")) ?? 0;
      if (n >= TOTAL) at.published = now;
    }
    if (at.pg === undefined) {
      const [row] = await stack.sql<{ n: number }[]>`select count(*)::int as n from events`;
      if (row.n >= TOTAL) at.pg = now;
    }
    if (at.pg !== undefined && (await stack.redisClient.xlen("events:share_submitted")) >= TOTAL) {
      at.redis = now;
    }
    if (now - started > 30 * 60_000) throw new Error("bench: not done after 30 min");
  }
  await sending;
  const cpuAfter = cpuSeconds(roots);
  const [lag] = await stack.sql<{ p50: number; p99: number; max: number }[]>`
    select percentile_cont(0.5) within group (order by l) as p50,
           percentile_cont(0.99) within group (order by l) as p99, max(l) as max
    from (select extract(epoch from committed_at - ts) * 1000 as l from events) x`;
  const line = (label: string, t: number) => {
    const s = (t - started) / 1000;
    console.log(`${label.padEnd(26)}${fmt(TOTAL / s)} events/s (${s.toFixed(1)} s)`);
  };
  line("engine send:", at.sent);
  line("published to JetStream:", at.published ?? at.pg);
  line("committed to PostgreSQL:", at.pg);
  line("end-to-end (PG + Redis):", at.redis);
  console.log(
    `lag ts -> PG commit:      p50 ${Number(lag.p50).toFixed(0)} ms, p99 ${
      Number(lag.p99).toFixed(0)
    } ms, max ${Number(lag.max).toFixed(0)} ms`,
  );
  const invalid = (await metric(stack.publisherPort, "publisher_events_invalid_total")) ?? 0;
  const missing = (await metric(stack.collectorPort, "collector_seq_missing_all_boots")) ?? 0;
  console.log(`invalid datagrams: ${invalid}; seqs missing: ${missing}`);
  const perEvent = (s: number) => `${(s / TOTAL * 1e6).toFixed(1).padStart(6)} µs/event`;
  console.log("CPU (user + system) per event:");
  let sum = senderCpu;
  console.log(`  ${"sender".padEnd(12)}${perEvent(senderCpu)}`);
  for (const name of Object.keys(roots)) {
    const used = cpuAfter[name] - cpuBefore[name];
    sum += used;
    console.log(`  ${name.padEnd(12)}${perEvent(used)}`);
  }
  console.log(
    `  ${"total".padEnd(12)}${perEvent(sum)} (2 cores = ${fmt(2 * TOTAL / sum)} events/s at most)`,
  );
} finally {
  engine.close();
  await stack.close();
}
