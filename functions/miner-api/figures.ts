/**
 * The figures the API shows, folded in memory from an address's share groups
 * (queries.ts): hashrate per window from accepted share difficulty, share
 * counts, best shares, blocks, last share and region, for the address, one
 * worker, or a page of workers.
 */

import type { AddressData, Page, ShareGroup } from "./queries.ts";

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

function maxOrNull(a: number | null, b: number | null): number | null {
  if (a === null) return b;
  if (b === null) return a;
  return Math.max(a, b);
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
  return groups.length === 0 ? undefined : foldWorker(data, worker, groups);
}

function foldWorker(data: AddressData, worker: string, groups: ShareGroup[]): ShareStats {
  const best = data.best.get(worker);
  return fold(groups, best ? [best] : [], data.blocks.get(worker) ?? 0);
}

/** One page of the address's workers, by name (code-point order); the groups are split once. */
export function workerPage(
  data: AddressData,
  limit: number,
  offset: number,
): Page<ShareStats & { worker: string }> {
  const byWorker = new Map<string, ShareGroup[]>();
  for (const g of data.groups) {
    const groups = byWorker.get(g.worker);
    if (groups) groups.push(g);
    else byWorker.set(g.worker, [g]);
  }
  const names = [...byWorker.keys()].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return {
    total: names.length,
    items: names.slice(offset, offset + limit).map((worker) => ({
      worker,
      ...foldWorker(data, worker, byWorker.get(worker)!),
    })),
  };
}
