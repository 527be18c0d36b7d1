/**
 * What the central stores hold per engine start: for each (pool_instance,
 * boot_id) the rows in PostgreSQL and the entries in Redis Streams, so a suite
 * can check "every seq once, none missing" in both.
 */

import postgres from "postgres";
import { Redis } from "ioredis";
import { EVENT_TYPES } from "../../functions/lib/envelope.ts";

export interface BootCounts {
  poolInstance: string;
  bootId: string;
  region: string;
  minSeq: number;
  maxSeq: number;
  /** Earliest event time in PostgreSQL, ms since the epoch (NaN when it holds none). */
  firstTsMs: number;
  /** Rows (PostgreSQL) or entries (Redis) for this boot. */
  pgRows: number;
  pgDistinctSeqs: number;
  redisEntries: number;
  redisDistinctSeqs: number;
  /** Lowest and highest seq in Redis (NaN when it holds none of this boot). */
  redisMinSeq: number;
  redisMaxSeq: number;
}

export class Stores {
  readonly sql: postgres.Sql;
  readonly redis: Redis;

  constructor(postgresUrl: string, redisUrl: string) {
    this.sql = postgres(postgresUrl, { max: 2, onnotice: () => {} });
    this.redis = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2 });
  }

  /** Per boot of `poolInstance`: what PostgreSQL and Redis hold. */
  boots(poolInstance: string): Promise<BootCounts[]> {
    return this.#boots(poolInstance);
  }

  /**
   * Every engine boot either store has seen, of every pool_instance; a boot
   * only one store knows is listed too (with zero counts in the other).
   */
  everyBoot(): Promise<BootCounts[]> {
    return this.#boots(null);
  }

  async #boots(poolInstance: string | null): Promise<BootCounts[]> {
    const rows = await this.sql<
      {
        pool_instance: string;
        boot_id: string;
        region: string;
        n: number;
        d: number;
        lo: number;
        hi: number;
        first_ms: number;
      }[]
    >`
      select pool_instance, boot_id::text, min(region) as region, count(*)::int as n,
             count(distinct seq)::int as d, min(seq)::int as lo, max(seq)::int as hi,
             (extract(epoch from min(ts)) * 1000)::float8 as first_ms
      from events where ${
      poolInstance === null ? this.sql`true` : this.sql`pool_instance = ${poolInstance}`
    }
      group by pool_instance, boot_id`;
    const redis = new Map<
      string,
      { poolInstance: string; region: string; entries: number; seqs: Set<number> }
    >();
    for (const type of EVENT_TYPES) {
      const stream = await this.redis.xrange(`events:${type}`, "-", "+") as Array<
        [string, string[]]
      >;
      for (const [, fields] of stream) {
        const e = JSON.parse(fields[fields.indexOf("envelope") + 1]) as {
          pool_instance: string;
          region: string;
          boot_id: string;
          seq: number;
        };
        if (poolInstance !== null && e.pool_instance !== poolInstance) continue;
        const entry = redis.get(e.boot_id) ??
          { poolInstance: e.pool_instance, region: e.region, entries: 0, seqs: new Set<number>() };
        entry.entries++;
        entry.seqs.add(e.seq);
        redis.set(e.boot_id, entry);
      }
    }
    const boots: BootCounts[] = rows.map((r) => ({
      poolInstance: r.pool_instance,
      bootId: r.boot_id,
      region: r.region,
      minSeq: r.lo,
      maxSeq: r.hi,
      firstTsMs: r.first_ms,
      pgRows: r.n,
      pgDistinctSeqs: r.d,
      redisEntries: redis.get(r.boot_id)?.entries ?? 0,
      redisDistinctSeqs: redis.get(r.boot_id)?.seqs.size ?? 0,
      ...redisRange(redis.get(r.boot_id)?.seqs),
    }));
    for (const [bootId, entry] of redis) {
      if (boots.some((b) => b.bootId === bootId)) continue;
      boots.push({
        poolInstance: entry.poolInstance,
        bootId,
        region: entry.region,
        minSeq: Math.min(...entry.seqs),
        maxSeq: Math.max(...entry.seqs),
        firstTsMs: NaN,
        pgRows: 0,
        pgDistinctSeqs: 0,
        redisEntries: entry.entries,
        redisDistinctSeqs: entry.seqs.size,
        ...redisRange(entry.seqs),
      });
    }
    return boots;
  }

  /** How many times each event_id is in Redis, over every type's stream. */
  async redisEventIds(): Promise<Map<string, number>> {
    const ids = new Map<string, number>();
    for (const type of EVENT_TYPES) {
      const stream = await this.redis.xrange(`events:${type}`, "-", "+") as Array<
        [string, string[]]
      >;
      for (const [, fields] of stream) {
        const id = fields[fields.indexOf("event_id") + 1];
        ids.set(id, (ids.get(id) ?? 0) + 1);
      }
    }
    return ids;
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await this.sql.end({ timeout: 1 });
  }
}

function redisRange(seqs: Set<number> | undefined): { redisMinSeq: number; redisMaxSeq: number } {
  if (!seqs || seqs.size === 0) return { redisMinSeq: NaN, redisMaxSeq: NaN };
  return { redisMinSeq: Math.min(...seqs), redisMaxSeq: Math.max(...seqs) };
}

/**
 * Every seq from the first (1, or 0) to the highest is in both stores exactly
 * once: the same span in each, no gap, no duplicate.
 */
export function complete(b: BootCounts): boolean {
  const span = b.maxSeq - Math.min(b.minSeq, 1) + 1;
  return b.pgRows === span && b.pgDistinctSeqs === span && b.redisEntries === span &&
    b.redisDistinctSeqs === span && b.redisMinSeq === b.minSeq && b.redisMaxSeq === b.maxSeq;
}

/** One line per boot for a failure message or the suite's figures. */
export function describeBoot(b: BootCounts): string {
  return `${b.poolInstance} boot ${b.bootId.slice(0, 8)}: seq ${b.minSeq}..${b.maxSeq}, ` +
    `pg ${b.pgRows} rows (${b.pgDistinctSeqs} distinct), redis ${b.redisEntries} entries ` +
    `(${b.redisDistinctSeqs} distinct, ${b.redisMinSeq}..${b.redisMaxSeq})`;
}
