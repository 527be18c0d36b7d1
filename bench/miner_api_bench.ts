/**
 * The miner API's cost per answer: how long an uncached summary, workers page
 * and blocks page take as one address's stored shares grow, among many other
 * addresses' rows, and what a cache hit costs.
 *
 *   deno task bench:miner-api [--sizes 1000,10000,100000] [--others 200000] [--samples 30]
 *
 * Starts a throwaway PostgreSQL (tests/harness), applies the collector's
 * migrations (with the 004 address indexes), bulk-inserts `--others` share
 * rows spread over 1000 other addresses, then for each size adds that many
 * shares (8 workers, over the last 30 days) and 20 blocks for one address and
 * times `--samples` requests per endpoint through the app (TTL 0: every
 * request reads PostgreSQL, history included), the read of an address once
 * its history (shares older than 25 h) is cached, i.e. every TTL after the
 * first, and the same summary from the cache.
 * Rows go in with the collector's schema directly (generate_series), not
 * through the collector: this measures reads. Figures only; nothing asserts.
 */

import postgres from "postgres";
import { startPostgres } from "../lib/harness/postgres.ts";
import { allMigrations, migrate } from "../functions/collector/migrate.ts";
import { createApp } from "../functions/miner-api/app.ts";
import {
  historyBoundary,
  isoWeekStart,
  loadAddress,
  shareGroups,
} from "../functions/miner-api/queries.ts";
import { createLogger } from "../functions/lib/log.ts";

function option(name: string, fallback: string): string {
  const at = Deno.args.indexOf(`--${name}`);
  return at >= 0 ? Deno.args[at + 1] : fallback;
}

const SIZES = option("sizes", "1000,10000,100000").split(",").map(Number);
const OTHERS = Number(option("others", "200000"));
const SAMPLES = Number(option("samples", "30"));
const ADDRESS = "bcrt1qw33xwttyv4kk7ttdd9hx2u3dv9jxgu3p3snjgx";
const quiet = createLogger({ component: "miner-api", region: "bench", sink: () => {} });

function quantile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

async function time(
  app: ReturnType<typeof createApp>,
  path: string,
  samples: number,
): Promise<string> {
  return await timeOf(async () => {
    const res = await app.request(path);
    if (res.status !== 200) throw new Error(`${path}: ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
  }, samples);
}

async function timeOf(fn: () => Promise<unknown>, samples: number): Promise<string> {
  const ms: number[] = [];
  for (let i = 0; i < samples; i++) {
    const started = performance.now();
    await fn();
    ms.push(performance.now() - started);
  }
  ms.sort((a, b) => a - b);
  return `p50 ${quantile(ms, 0.5).toFixed(2)} ms  p95 ${quantile(ms, 0.95).toFixed(2)} ms`;
}

/** `n` share rows of `address` (else of 1000 others), ts spread over the last 30 days. */
async function insertShares(sql: postgres.Sql, n: number, address: string | null) {
  await sql`
    insert into events (event_id, ts, event, source, region, pool_instance, boot_id, seq, data)
    select gen_random_uuid(), now() - (g::float8 / ${n}) * interval '30 days', 'share_submitted',
      'hosted', (array['eu','us-east','asia'])[1 + g % 3], 'bench',
      '00000000-0000-4000-8000-000000000000', g,
      jsonb_build_object(
        'address', coalesce(${address}::text, 'other' || (g % 1000)),
        'worker', 'rig' || (g % 8), 'diff', 1024, 'sdiff', 1024 + g % 5000,
        'accepted', g % 50 <> 0)
    from generate_series(1, ${n}) g`;
}

async function main() {
  const pg = await startPostgres();
  const sql = postgres(pg.url, { max: 4, onnotice: () => {} });
  try {
    await migrate(sql, await allMigrations());
    let t0 = performance.now();
    await insertShares(sql, OTHERS, null);
    await sql`analyze events`;
    console.log(
      `${OTHERS} share rows of 1000 other addresses in ${
        ((performance.now() - t0) / 1000).toFixed(1)
      } s`,
    );
    const uncached = createApp({
      sql,
      network: "regtest",
      cacheTtlSeconds: 0,
      cacheMaxEntries: 1,
      logger: quiet,
    });
    let have = 0;
    for (const size of SIZES) {
      t0 = performance.now();
      await insertShares(sql, size - have, ADDRESS);
      have = size;
      await sql`
        insert into blocks (event_id, ts, region, pool_instance, height, block_hash, data)
        select gen_random_uuid(), now() - g * interval '1 hour', 'eu', 'bench', g, null,
          jsonb_build_object('address', ${ADDRESS}::text, 'worker', 'rig1', 'accepted', true)
        from generate_series(1, 20) g`;
      await sql`analyze events`;
      const load = ((performance.now() - t0) / 1000).toFixed(1);
      console.log(`\naddress with ${size} shares (added in ${load} s), ${SAMPLES} requests each:`);
      const base = `/api/v1/miners/${ADDRESS}`;
      console.log(`  summary (uncached)        ${await time(uncached, base, SAMPLES)}`);
      console.log(
        `  workers page (uncached)   ${await time(uncached, `${base}/workers`, SAMPLES)}`,
      );
      console.log(`  blocks page (uncached)    ${await time(uncached, `${base}/blocks`, SAMPLES)}`);
      const at = new Date();
      const history = await shareGroups(sql, ADDRESS, at, isoWeekStart(at), {
        upTo: historyBoundary(at),
      });
      const recentOnly = await timeOf(
        () => loadAddress(sql, ADDRESS, new Date(), () => Promise.resolve(history)),
        SAMPLES,
      );
      console.log(`  read, history cached      ${recentOnly}`);
      const cached = createApp({
        sql,
        network: "regtest",
        cacheTtlSeconds: 600,
        cacheMaxEntries: 10,
        logger: quiet,
      });
      await cached.request(base);
      console.log(`  summary (cache hit)       ${await time(cached, base, SAMPLES * 10)}`);
    }
    const plan = await sql.unsafe<{ "QUERY PLAN": string }[]>(
      `explain select count(*) from events
       where event = 'share_submitted' and data->>'address' = '${ADDRESS}'`,
    );
    console.log(`\nplan of the address filter:\n${plan.map((r) => r["QUERY PLAN"]).join("\n")}`);
  } finally {
    await sql.end({ timeout: 1 });
    await pg.stop();
  }
}

if (import.meta.main) await main();
