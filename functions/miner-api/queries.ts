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
  hashrate: Record<WindowName, number>;
  shares: { accepted: number; rejected: number };
  best_share: { week: number | null; ever: number | null };
  blocks_found: number;
  last_share_at: string | null;
  region: string | null;
}

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

function maxOrNull(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
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

/** Folds groups (all of an address's, or one worker's) into the figures. */
function fold(
  groups: ShareGroup[],
  bests: Array<{ week: number | null; ever: number | null }>,
  blocks: number,
): ShareStats {
  let d1m = 0, d1h = 0, d24h = 0, accepted = 0, rejected = 0;
  let week: number | null = null;
  let ever: number | null = null;
  let lastAccepted: Date | null = null;
  let latest: ShareGroup | undefined;
  for (const g of groups) {
    d1m += g.diff_1m;
    d1h += g.diff_1h;
    d24h += g.diff_24h;
    accepted += g.accepted;
    rejected += g.rejected;
    week = maxOrNull(week, g.best_week);
    ever = maxOrNull(ever, g.best_ever);
    if (g.last_accepted && (!lastAccepted || g.last_accepted > lastAccepted)) {
      lastAccepted = g.last_accepted;
    }
    if (!latest || g.last_any > latest.last_any) latest = g;
  }
  for (const b of bests) {
    week = maxOrNull(week, b.week);
    ever = maxOrNull(ever, b.ever);
  }
  return {
    hashrate: {
      "1m": (d1m * HASHES_PER_DIFF1) / WINDOWS["1m"],
      "1h": (d1h * HASHES_PER_DIFF1) / WINDOWS["1h"],
      "24h": (d24h * HASHES_PER_DIFF1) / WINDOWS["24h"],
    },
    shares: { accepted, rejected },
    best_share: { week, ever },
    blocks_found: blocks,
    last_share_at: lastAccepted ? lastAccepted.toISOString() : null,
    region: latest ? latest.region : null,
  };
}

export interface AddressSummary extends ShareStats {
  workers: number;
  regions_24h: string[];
}

/** The whole address; undefined when it has no share and no block stored. */
export function summarize(data: AddressData): AddressSummary | undefined {
  const totalBlocks = [...data.blocks.values()].reduce((a, b) => a + b, 0);
  if (data.groups.length === 0 && totalBlocks === 0) return undefined;
  return {
    ...fold(data.groups, [...data.best.values()], totalBlocks),
    workers: new Set(data.groups.map((g) => g.worker)).size,
    regions_24h: [...new Set(data.groups.filter((g) => g.active_24h).map((g) => g.region))]
      .sort(),
  };
}

/** One worker; undefined when it has no share stored. */
export function workerStats(data: AddressData, worker: string): ShareStats | undefined {
  const groups = data.groups.filter((g) => g.worker === worker);
  if (groups.length === 0) return undefined;
  const best = data.best.get(worker);
  return fold(groups, best ? [best] : [], data.blocks.get(worker) ?? 0);
}

export interface Page<T> {
  total: number;
  items: T[];
}

/** One page of the address's workers, by name (code-point order). */
export function workerPage(
  data: AddressData,
  limit: number,
  offset: number,
): Page<ShareStats & { worker: string }> {
  const names = [...new Set(data.groups.map((g) => g.worker))]
    .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    total: names.length,
    items: names.slice(offset, offset + limit).map((worker) => ({
      worker,
      ...workerStats(data, worker)!,
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
