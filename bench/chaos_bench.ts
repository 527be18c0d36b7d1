/**
 * Faults under load, whole stack: runs the native three-region topology of
 * `deno task up` with miners in every region at a steady submit rate and,
 * one at a time, kills or restarts each part (bench/chaos/faults.ts). After
 * each fault it waits for recovery (bench/chaos/recovery.ts) and counts, per
 * engine start (boot_id), the events lost (seq gaps) and stored twice in
 * PostgreSQL and in Redis Streams (bench/chaos/counting.ts). Prints a table.
 *
 *   deno task bench:chaos [--rate 5000] [--partition 20] [--settle 10] [--only nats,redis]
 *
 * Needs `deno task build` and `make -C bench/loadgen`. Figures, not a test.
 */

import { parseArgs } from "node:util";
import { type BootCount, lostIn, StoreCounter, totals } from "./chaos/counting.ts";
import {
  dropsBetween,
  engineDrops,
  type Fault,
  type FaultOutcome,
  selectFaults,
} from "./chaos/faults.ts";
import { checkLoadgen, RegionMiners } from "./chaos/load.ts";
import { waitGapsSettled, waitRecovered } from "./chaos/recovery.ts";
import { jetStreamBacklog, startChaosStack } from "./chaos/stack.ts";
import { waitFor } from "../lib/ports.ts";
import { type FaultRow, formatRows } from "./chaos/table.ts";
import { REGION_NAMES } from "../lib/harness/system.ts";

const USAGE = "usage: deno task bench:chaos [--rate N] [--conns N] [--partition S] [--settle S] " +
  "[--warmup S] [--recovery-timeout S] [--fresh S] [--only a,b] [--out file.json]";

function number(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min) {
    throw new Error(`chaos: --${name} must be a number >= ${min} (got "${value}")\n${USAGE}`);
  }
  return n;
}

const { values } = parseArgs({
  options: {
    rate: { type: "string", default: "5000" },
    conns: { type: "string", default: "20" },
    partition: { type: "string", default: "20" },
    settle: { type: "string", default: "10" },
    warmup: { type: "string", default: "10" },
    "recovery-timeout": { type: "string", default: "180" },
    fresh: { type: "string", default: "3" },
    chunk: { type: "string", default: "3" },
    "gap-stable": { type: "string", default: "40" },
    only: { type: "string" },
    out: { type: "string" },
  },
  args: Deno.args.filter((a) => a !== "--"),
});
const rate = number("rate", values.rate, 3);
const conns = number("conns", values.conns, 1);
const partitionSeconds = number("partition", values.partition, 1);
const settleSeconds = number("settle", values.settle, 1);
const warmupSeconds = number("warmup", values.warmup, 1);
const recoveryTimeoutMs = number("recovery-timeout", values["recovery-timeout"], 5) * 1000;
const freshMs = number("fresh", values.fresh, 0.5) * 1000;
const chunkSeconds = number("chunk", values.chunk, 1);
/** Past JetStream's 30 s ack wait: a gap still open then is not waiting for a redelivery. */
const gapStableMs = number("gap-stable", values["gap-stable"], 1) * 1000;
const faults = selectFaults(values.only);

const say = (line: string) =>
  console.log(`[chaos] ${new Date().toISOString().slice(11, 19)} ${line}`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Lost/duplicated over every boot, per store. */
function sums(boots: readonly BootCount[]) {
  const t = totals(boots);
  return {
    pgLost: t.pg.lost,
    pgDup: t.pg.duplicated,
    redisLost: t.redis.lost,
    redisDup: t.redis.duplicated,
  };
}

/**
 * A SIGKILLed engine's last boot ends with whatever its ring held: numbered,
 * never sent, and (the boot having ended) no later seq to show it as a gap.
 * The bench scraped the engine's counters just before the kill, so those
 * seqs, up to the last one numbered by then, are counted lost here:
 * `ring` (never emitted) and `silent` (emitted, yet not stored).
 */
function engineTail(
  outcome: FaultOutcome,
  boot: BootCount | undefined,
): { ring: number; silent: number; note: string } {
  if (outcome.engineNumbered === undefined || !boot) return { ring: 0, silent: 0, note: "" };
  if (boot.announcedLastSeq !== undefined) {
    // The restarted engine announced where the killed boot's seq got: a real gap.
    const ring = Math.max(0, boot.announcedLastSeq - boot.maxSeq);
    return {
      ring,
      silent: 0,
      note: `seq gap at the end of the killed boot: engine_started says it reached ` +
        `${boot.announcedLastSeq}, last seq stored ${boot.maxSeq} (scrape before the kill: ` +
        `ring ${outcome.ringAtKill})`,
    };
  }
  const first = Math.min(boot.minSeq, 1);
  const lastNumbered = first + outcome.engineNumbered - 1;
  const lastEmitted = lastNumbered - (outcome.ringAtKill ?? 0);
  const silent = Math.max(0, lastEmitted - boot.maxSeq);
  const ring = Math.max(0, lastNumbered - Math.max(boot.maxSeq, lastEmitted));
  return {
    ring,
    silent,
    note: `ring held ${outcome.ringAtKill} at the kill scrape (counted lost, no gap can show ` +
      `them); last seq stored ${boot.maxSeq}, emitted by the scrape ${lastEmitted}`,
  };
}

async function main(): Promise<void> {
  await checkLoadgen();
  say(`starting the native stack (rate ${rate}/s, ${conns} conns per region)`);
  const stack = await startChaosStack();
  const { endpoints } = stack.system;
  const counter = new StoreCounter(endpoints.postgresUrl, endpoints.redisUrl);
  const miners = REGION_NAMES.map((r) =>
    new RegionMiners(r, endpoints.regions[r].stratum.port, {
      rate: Math.round(rate / REGION_NAMES.length),
      conns,
      chunkSeconds,
    })
  );
  const poolInstances = REGION_NAMES.map((r) => endpoints.regions[r].poolInstance);
  // Ctrl-C / SIGTERM: stop the miners and the stack rather than orphan them.
  let interrupted = false;
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(sig, () => {
      if (interrupted) return;
      interrupted = true;
      say(`${sig}: stopping miners and the stack`);
      Promise.all(miners.map((m) => m.stop()))
        .then(() => counter.close())
        .finally(() => stack.system.close().finally(() => Deno.exit(130)));
    });
  }
  const rows: FaultRow[] = [];
  let loadStarted = 0;
  let failure: unknown = null;
  try {
    say(`stack up in ${stack.stackDir}; miners on`);
    loadStarted = Date.now();
    for (const m of miners) m.start();
    await sleep(warmupSeconds * 1000);
    const warm = await waitRecovered(counter, {
      poolInstances,
      sinceMs: loadStarted,
      freshMs,
      timeoutMs: recoveryTimeoutMs,
    });
    if (warm === null) throw new Error("chaos: events never reached both stores from every region");
    await sleep(2000);
    await counter.readRedis();
    let before = sums(await counter.count());
    rows.push({
      fault: "none (warm-up)",
      recoverySeconds: warm / 1000,
      pgLost: before.pgLost,
      pgDuplicated: before.pgDup,
      redisLost: before.redisLost,
      redisDuplicated: before.redisDup,
      note: "time to first fresh events in both stores",
    });
    for (const fault of faults) {
      await steady(counter, settleSeconds);
      before = sums(await counter.count());
      const row = await runFault(stack, counter, fault, poolInstances, before);
      rows.push(row);
      say(
        `${row.fault}: recovered ${row.recoverySeconds ?? "never"} s, pg lost ${row.pgLost} ` +
          `dup ${row.pgDuplicated}, redis lost ${row.redisLost} dup ${row.redisDuplicated} ${row.note}`,
      );
      before = sums(await counter.count());
    }
  } catch (error) {
    failure = error;
  }
  await Promise.all(miners.map((m) => m.stop()));
  const loadSeconds = (Date.now() - loadStarted) / 1000;
  let boots: BootCount[] = [];
  try {
    // Load is off: JetStream has nothing left for the collector once every message is acked
    // (past the 30 s ack wait, a message a dead collector held is redelivered first).
    const drained = await waitFor(
      async () => (await jetStreamBacklog(stack.stackDir)) === 0 ? Date.now() : 0,
      { timeoutMs: recoveryTimeoutMs, intervalMs: 500, what: "JetStream to hold nothing unacked" },
    ).catch(() => 0);
    if (!drained) say("JetStream still held unacked messages at the final count");
    // The miners' last events (disconnects) trail the backlog: count until nothing moves.
    let last = "";
    for (const end = Date.now() + 60_000; Date.now() < end;) {
      await sleep(3000);
      await counter.readRedis();
      boots = await counter.count(true);
      const t = totals(boots);
      const now = `${t.pg.stored}/${t.redis.stored}`;
      if (now === last) break;
      last = now;
    }
  } catch (error) {
    failure ??= error;
  }
  await counter.close();
  await stack.system.close();

  const answered = miners.reduce((n, m) => n + m.stats.answered, 0);
  // Nothing is in flight any more: a boot's tail missing in a store is lost.
  const t = totals(boots, true);
  console.log(
    `\ncommand: deno task bench:chaos -- ${Deno.args.filter((a) => a !== "--").join(" ")}`,
  );
  console.log(
    `target ${rate} submits/s; achieved ${
      (answered / loadSeconds).toFixed(0)
    } answered submits/s ` +
      `over ${
        loadSeconds.toFixed(0)
      } s (${answered} answered); events stored: pg ${t.pg.stored}, ` +
      `redis ${t.redis.stored} (${(t.pg.stored / loadSeconds).toFixed(0)}/s); ` +
      `redis entries trimmed before read: ${counter.trimmedUnread}`,
  );
  for (const m of miners) {
    const s = m.stats;
    console.log(
      `  miners ${s.region}: ${s.answered} answered of ${s.sent} sent, ${s.disconnects} ` +
        `disconnects, ${s.chunks} generator runs (${s.failedChunks} could not connect)`,
    );
  }
  console.log("\nwhole run, per boot:");
  for (const b of boots.sort((a, b) => a.poolInstance.localeCompare(b.poolInstance))) {
    console.log(
      `  ${b.poolInstance} ${b.bootId.slice(0, 8)} seq ${b.minSeq}..${b.maxSeq}` +
        (b.announcedLastSeq === undefined ? "" : ` (announced ${b.announcedLastSeq})`) + ": " +
        `pg ${b.pg.stored} stored, ${lostIn(b, b.pg, true)} lost, ${b.pg.duplicated} dup; ` +
        `redis ${b.redis.stored} stored, ${lostIn(b, b.redis, true)} lost, ` +
        `${b.redis.duplicated} dup`,
    );
  }
  console.log(`\n${formatRows(rows)}\n`);
  console.log(
    `whole run: pg lost ${t.pg.lost} dup ${t.pg.duplicated}; redis lost ${t.redis.lost} ` +
      `dup ${t.redis.duplicated}`,
  );
  if (values.out) {
    await Deno.writeTextFile(
      values.out,
      JSON.stringify(
        {
          rate,
          answered,
          loadSeconds,
          rows,
          boots,
          miners: miners.map((m) => m.stats),
        },
        null,
        2,
      ),
    );
  }
  if (failure) {
    console.error(`[chaos] ${(failure as Error).message}`);
    Deno.exit(1);
  }
}

/** Load runs on; Redis is read every 2 s so its MAXLEN trim cannot outrun the count. */
async function steady(counter: StoreCounter, seconds: number): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (Date.now() < end) {
    await counter.readRedis().catch(() => {});
    await sleep(Math.min(2000, Math.max(0, end - Date.now())));
  }
}

async function runFault(
  stack: Awaited<ReturnType<typeof startChaosStack>>,
  counter: StoreCounter,
  fault: Fault,
  poolInstances: string[],
  before: ReturnType<typeof sums>,
): Promise<FaultRow> {
  const killedBoot = fault.engine ? counter.latestBoot.get(fault.engine) : undefined;
  const dropsBefore = await engineDrops(stack);
  say(`fault: ${fault.name}`);
  const outcome = await fault.run({ stack, partitionSeconds });
  const over = Date.now();
  const recovered = await waitRecovered(counter, {
    poolInstances,
    sinceMs: over,
    freshMs,
    timeoutMs: recoveryTimeoutMs,
  });
  // Watermarks past the fault first, or the gaps it left are not counted yet.
  await counter.count().catch(() => {});
  await steady(counter, 3);
  const settled = await waitGapsSettled({
    lostNow: async () => {
      await counter.readRedis();
      const latest = sums(await counter.count());
      return Math.max(latest.pgLost - before.pgLost, latest.redisLost - before.redisLost);
    },
    expectedLost: async () => dropsBetween(dropsBefore, await engineDrops(stack)),
    stableMs: gapStableMs,
    timeoutMs: recoveryTimeoutMs,
    sinceMs: over,
  });
  // One more pass so the watermarks cover every seq the fault touched.
  await steady(counter, 3);
  const boots = await counter.count();
  const after = sums(boots);
  const dropped = dropsBetween(dropsBefore, await engineDrops(stack));
  const tail = engineTail(outcome, boots.find((b) => b.bootId === killedBoot));
  return {
    fault: fault.name,
    recoverySeconds: recovered === null || settled.timedOut
      ? null
      : Math.max(recovered, settled.ms) / 1000,
    pgLost: after.pgLost - before.pgLost + tail.silent + tail.ring,
    pgDuplicated: after.pgDup - before.pgDup,
    redisLost: after.redisLost - before.redisLost + tail.silent + tail.ring,
    redisDuplicated: after.redisDup - before.redisDup,
    note: [
      recovered === null ? "" : `flowing again after ${(recovered / 1000).toFixed(1)} s`,
      settled.unexplained ? "gaps beyond the engines' drop counters stayed" : "",
      dropped ? `engines counted ${dropped} dropped` : "",
      tail.note,
      tail.silent ? `${tail.silent} emitted but never stored: counted lost` : "",
    ].filter(Boolean).join("; "),
  };
}

if (import.meta.main) await main();
