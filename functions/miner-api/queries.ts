/**
 * The miner API's reads from the collector's schema (functions/collector/
 * migrations): `events` rows of type share_submitted and share_best_diff, and
 * `blocks`. Every figure is computed relative to `now`, passed in, so one
 * answer is consistent and tests can fix the clock. Event data fields are
 * type-checked in SQL (jsonb_typeof): a malformed row counts as no credit,
 * never as an error.
 */

import type { Sql } from "postgres";

/** Hashrate windows in seconds, by the name the API shows. */
export const WINDOWS = { "1m": 60, "1h": 3600, "24h": 86_400 } as const;
export type WindowName = keyof typeof WINDOWS;

/** A share of difficulty d stands for d x 2^32 hashes (docs/events.md). */
const HASHES_PER_DIFF1 = 2 ** 32;

export interface ShareStats {
  worker: string | null;
  hashrate: Record<WindowName, number>;
  shares: { accepted: number; rejected: number };
  best_share: { week: number | null; ever: number | null };
  blocks_found: number;
  last_share_at: string | null;
  region: string | null;
}

export interface StatsRow {
  worker: string | null;
  diff_1m: number;
  diff_1h: number;
  diff_24h: number;
  accepted: string;
  rejected: string;
  best_week: number | null;
  best_ever: number | null;
  last_accepted: Date | null;
  region: string | null;
}

/** Monday 00:00 UTC of the ISO week holding `now` (the engine's weekly best-share scope). */
export function isoWeekStart(now: Date): Date {
  const day = (now.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - day));
}

function maxOrNull(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
}

/** The shares of one address (one worker when given) with typed fields. */
function sharesOf(sql: Sql, address: string, worker?: string) {
  return sql`
    select ts, region, data->>'worker' as worker,
      case when jsonb_typeof(data->'diff') = 'number' then (data->>'diff')::float8 else 0 end as diff,
      case when jsonb_typeof(data->'sdiff') = 'number' then (data->>'sdiff')::float8 end as sdiff,
      coalesce(data->'accepted' = 'true'::jsonb, false) as accepted
    from events
    where event = 'share_submitted' and data->>'address' = ${address}
      ${worker === undefined ? sql`` : sql`and data->>'worker' = ${worker}`}`;
}

function statsColumns(sql: Sql, now: Date, weekStart: Date) {
  return sql`
    coalesce(sum(diff) filter (where accepted and ts > ${now}::timestamptz - interval '60 seconds'), 0)::float8 as diff_1m,
    coalesce(sum(diff) filter (where accepted and ts > ${now}::timestamptz - interval '1 hour'), 0)::float8 as diff_1h,
    coalesce(sum(diff) filter (where accepted and ts > ${now}::timestamptz - interval '24 hours'), 0)::float8 as diff_24h,
    count(*) filter (where accepted)::text as accepted,
    count(*) filter (where not accepted)::text as rejected,
    max(sdiff) filter (where accepted and ts >= ${weekStart}::timestamptz) as best_week,
    max(sdiff) filter (where accepted) as best_ever,
    max(ts) filter (where accepted) as last_accepted,
    (array_agg(region order by ts desc))[1] as region`;
}

interface BestRow {
  worker: string | null;
  best_week: number | null;
  best_ever: number | null;
}

/** Best difficulties from share_best_diff events (they outlive any pruning of share rows). */
async function bestDiffEvents(
  sql: Sql,
  address: string,
  weekStart: Date,
  workers?: string[],
): Promise<BestRow[]> {
  return await sql<BestRow[]>`
    select ${workers === undefined ? sql`null::text` : sql`data->>'worker'`} as worker,
      max((data->>'new_best')::float8) filter (where ts >= ${weekStart}::timestamptz) as best_week,
      max((data->>'new_best')::float8) as best_ever
    from events
    where event = 'share_best_diff' and data->>'address' = ${address}
      and jsonb_typeof(data->'new_best') = 'number'
      ${workers === undefined ? sql`` : sql`and data->>'worker' = any(${workers})`}
    group by 1`;
}

interface BlockCountRow {
  worker: string | null;
  n: string;
}

async function blockCounts(
  sql: Sql,
  address: string,
  workers?: string[],
): Promise<BlockCountRow[]> {
  return await sql<BlockCountRow[]>`
    select ${workers === undefined ? sql`null::text` : sql`data->>'worker'`} as worker,
      count(*)::text as n
    from blocks
    where data->>'address' = ${address} and data->'accepted' = 'true'::jsonb
      ${workers === undefined ? sql`` : sql`and data->>'worker' = any(${workers})`}
    group by 1`;
}

function toStats(row: StatsRow, best: BestRow | undefined, blocks: number): ShareStats {
  return {
    worker: row.worker,
    hashrate: {
      "1m": (row.diff_1m * HASHES_PER_DIFF1) / WINDOWS["1m"],
      "1h": (row.diff_1h * HASHES_PER_DIFF1) / WINDOWS["1h"],
      "24h": (row.diff_24h * HASHES_PER_DIFF1) / WINDOWS["24h"],
    },
    shares: { accepted: Number(row.accepted), rejected: Number(row.rejected) },
    best_share: {
      week: maxOrNull(row.best_week, best?.best_week ?? null),
      ever: maxOrNull(row.best_ever, best?.best_ever ?? null),
    },
    blocks_found: blocks,
    last_share_at: row.last_accepted ? row.last_accepted.toISOString() : null,
    region: row.region,
  };
}

export interface AddressSummary extends ShareStats {
  workers: number;
  regions_24h: string[];
  /** Shares of any outcome: 0 means the address never mined here. */
  shares_seen: number;
}

/** Figures for a whole address, or for one of its workers when `worker` is given. */
export async function addressSummary(
  sql: Sql,
  address: string,
  now: Date,
  worker?: string,
): Promise<AddressSummary> {
  const weekStart = isoWeekStart(now);
  const [rows, best, blocks] = await Promise.all([
    sql<(StatsRow & { workers: string; seen: string; regions: string[] | null })[]>`
      select null::text as worker, ${statsColumns(sql, now, weekStart)},
        count(distinct worker)::text as workers, count(*)::text as seen,
        array_agg(distinct region order by region)
          filter (where ts > ${now}::timestamptz - interval '24 hours') as regions
      from (${sharesOf(sql, address, worker)}) s`,
    bestDiffEvents(sql, address, weekStart, worker === undefined ? undefined : [worker]),
    blockCounts(sql, address, worker === undefined ? undefined : [worker]),
  ]);
  const row = rows[0];
  return {
    ...toStats(row, best[0], Number(blocks[0]?.n ?? 0)),
    worker: worker ?? null,
    workers: Number(row.workers),
    regions_24h: row.regions ?? [],
    shares_seen: Number(row.seen),
  };
}

export interface Page<T> {
  total: number;
  items: T[];
}

/** One page of an address's workers, by worker name. */
export async function workerPage(
  sql: Sql,
  address: string,
  now: Date,
  limit: number,
  offset: number,
): Promise<Page<ShareStats & { worker: string }>> {
  const weekStart = isoWeekStart(now);
  const rows = await sql<(StatsRow & { total: string })[]>`
    select worker, count(*) over ()::text as total, ${statsColumns(sql, now, weekStart)}
    from (${sharesOf(sql, address)}) s
    group by worker
    order by worker
    limit ${limit} offset ${offset}`;
  if (rows.length === 0) {
    const [count] = await sql<{ n: string }[]>`
      select count(distinct worker)::text as n from (${sharesOf(sql, address)}) s`;
    return { total: Number(count.n), items: [] };
  }
  const names = rows.map((r) => r.worker ?? "");
  const [best, blocks] = await Promise.all([
    bestDiffEvents(sql, address, weekStart, names),
    blockCounts(sql, address, names),
  ]);
  const bestBy = new Map(best.map((b) => [b.worker, b]));
  const blocksBy = new Map(blocks.map((b) => [b.worker, Number(b.n)]));
  return {
    total: Number(rows[0].total),
    items: rows.map((row) => ({
      ...toStats(row, bestBy.get(row.worker), blocksBy.get(row.worker) ?? 0),
      worker: row.worker ?? "",
    })),
  };
}

export interface BlockItem {
  height: number | null;
  hash: string | null;
  found_at: string;
  region: string;
  worker: string | null;
  accepted: boolean;
  reward_sat: number | null;
}

/** One page of an address's blocks, newest first. */
export async function blockPage(
  sql: Sql,
  address: string,
  limit: number,
  offset: number,
): Promise<Page<BlockItem>> {
  const rows = await sql<
    {
      height: string | null;
      block_hash: string | null;
      ts: Date;
      region: string;
      worker: string | null;
      accepted: boolean;
      reward_sat: string | null;
      total: string;
    }[]
  >`
    select height::text, block_hash, ts, region, data->>'worker' as worker,
      coalesce(data->'accepted' = 'true'::jsonb, false) as accepted,
      case when jsonb_typeof(data->'reward_sat') = 'number' then data->>'reward_sat' end
        as reward_sat,
      count(*) over ()::text as total
    from blocks
    where data->>'address' = ${address}
    order by ts desc, event_id
    limit ${limit} offset ${offset}`;
  let total = rows.length > 0 ? Number(rows[0].total) : 0;
  if (rows.length === 0 && offset > 0) {
    const [count] = await sql<{ n: string }[]>`
      select count(*)::text as n from blocks where data->>'address' = ${address}`;
    total = Number(count.n);
  }
  return {
    total,
    items: rows.map((r) => ({
      height: r.height === null ? null : Number(r.height),
      hash: r.block_hash,
      found_at: r.ts.toISOString(),
      region: r.region,
      worker: r.worker,
      accepted: r.accepted,
      reward_sat: r.reward_sat === null ? null : Number(r.reward_sat),
    })),
  };
}
