/**
 * The miner API's reads from the collector's schema (functions/collector/
 * migrations): `events` rows of type share_submitted and share_best_diff, and
 * `blocks`, grouped per worker and region (figures.ts folds them into what
 * the API shows). Every figure is computed relative to `now`, passed in, so
 * one answer is consistent and tests can fix the clock. Event data fields are
 * type-checked in SQL (jsonb_typeof): a malformed row counts as no credit,
 * never as an error.
 */

import type { Sql } from "postgres";

/** One address's shares folded per (worker, region): what every figure is made from. */
export interface ShareGroup {
  worker: string;
  region: string;
  diff_1m: number;
  diff_1h: number;
  diff_24h: number;
  accepted: number;
  rejected: number;
  best_week: number | null;
  best_ever: number | null;
  last_accepted: Date | null;
  /** Last share of any outcome. */
  last_any: Date;
  /** A share in the 24 h before `now`. */
  active_24h: boolean;
}

export interface AddressData {
  /** The time the figures are for. */
  at: Date;
  weekStart: Date;
  groups: ShareGroup[];
  /** Best difficulties from share_best_diff events, per worker. */
  best: Map<string, { week: number | null; ever: number | null }>;
  /** Accepted blocks per worker. */
  blocks: Map<string, number>;
}

/** Monday 00:00 UTC of the ISO week holding `now` (the engine's weekly best-share scope). */
export function isoWeekStart(now: Date): Date {
  const day = (now.getUTCDay() + 6) % 7;
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() - day));
}

type GroupRow = Omit<ShareGroup, "accepted" | "rejected"> & { accepted: string; rejected: string };

/**
 * Shares older than this are "history": an hour boundary 25 h back, so every
 * hashrate window lies after it and it moves once an hour.
 */
export function historyBoundary(now: Date): Date {
  const hour = 3_600_000;
  return new Date(Math.floor(now.getTime() / hour) * hour - 25 * hour);
}

/**
 * One address's shares grouped per (worker, region) in one pass (hash
 * aggregate, no sort), those after `after` or those up to `upTo`.
 */
export async function shareGroups(
  sql: Sql,
  address: string,
  now: Date,
  weekStart: Date,
  range: { after: Date } | { upTo: Date },
): Promise<ShareGroup[]> {
  const rows = await sql<GroupRow[]>`
    select coalesce(worker, '') as worker, region,
      coalesce(sum(diff) filter (where accepted and ts > ${now}::timestamptz - interval '60 seconds'), 0)::float8 as diff_1m,
      coalesce(sum(diff) filter (where accepted and ts > ${now}::timestamptz - interval '1 hour'), 0)::float8 as diff_1h,
      coalesce(sum(diff) filter (where accepted and ts > ${now}::timestamptz - interval '24 hours'), 0)::float8 as diff_24h,
      count(*) filter (where accepted)::text as accepted,
      count(*) filter (where not accepted)::text as rejected,
      max(sdiff) filter (where accepted and ts >= ${weekStart}::timestamptz) as best_week,
      max(sdiff) filter (where accepted) as best_ever,
      max(ts) filter (where accepted) as last_accepted,
      max(ts) as last_any,
      bool_or(ts > ${now}::timestamptz - interval '24 hours') as active_24h
    from (
      select ts, region, data->>'worker' as worker,
        case when jsonb_typeof(data->'diff') = 'number' then (data->>'diff')::float8 else 0 end as diff,
        case when jsonb_typeof(data->'sdiff') = 'number' then (data->>'sdiff')::float8 end as sdiff,
        coalesce(data->'accepted' = 'true'::jsonb, false) as accepted
      from events
      where event = 'share_submitted' and data->>'address' = ${address}
        and ${
    "after" in range ? sql`ts > ${range.after}::timestamptz` : sql`ts <= ${range.upTo}::timestamptz`
  }
    ) s
    group by 1, 2`;
  return rows.map((g) => ({ ...g, accepted: Number(g.accepted), rejected: Number(g.rejected) }));
}

/** The history part of an address's share groups (see historyBoundary); may come from a cache. */
export type HistorySource = (
  address: string,
  boundary: Date,
  weekStart: Date,
) => Promise<ShareGroup[]>;

/**
 * Everything about one address, in four indexed reads: its shares grouped
 * per (worker, region), split at historyBoundary (the history part from
 * `history`, which the app caches for an hour, the recent part read every
 * time), its share_best_diff events and its accepted blocks per worker. The
 * answers are folded from this in memory, so the summary, a worker and a
 * workers page cost the same reads.
 */
export async function loadAddress(
  sql: Sql,
  address: string,
  now: Date,
  history: HistorySource = (a, boundary, week) =>
    shareGroups(sql, a, now, week, { upTo: boundary }),
): Promise<AddressData> {
  const weekStart = isoWeekStart(now);
  const boundary = historyBoundary(now);
  const [old, recent, best, blocks] = await Promise.all([
    history(address, boundary, weekStart),
    shareGroups(sql, address, now, weekStart, { after: boundary }),
    sql<{ worker: string; best_week: number | null; best_ever: number | null }[]>`
      select coalesce(data->>'worker', '') as worker,
        max((data->>'new_best')::float8) filter (where ts >= ${weekStart}::timestamptz) as best_week,
        max((data->>'new_best')::float8) as best_ever
      from events
      where event = 'share_best_diff' and data->>'address' = ${address}
        and jsonb_typeof(data->'new_best') = 'number'
      group by 1`,
    sql<{ worker: string; n: string }[]>`
      select coalesce(data->>'worker', '') as worker, count(*)::text as n
      from blocks
      where data->>'address' = ${address} and data->'accepted' = 'true'::jsonb
      group by 1`,
  ]);
  return {
    at: now,
    weekStart,
    groups: [...old, ...recent],
    best: new Map(best.map((b) => [b.worker, { week: b.best_week, ever: b.best_ever }])),
    blocks: new Map(blocks.map((b) => [b.worker, Number(b.n)])),
  };
}

export interface Page<T> {
  total: number;
  items: T[];
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
