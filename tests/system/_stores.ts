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
  /** Rows (PostgreSQL) or entries (Redis) for this boot. */
  pgRows: number;
  pgDistinctSeqs: number;
  redisEntries: number;
  redisDistinctSeqs: number;
}

export class Stores {
  readonly sql: postgres.Sql;
  readonly redis: Redis;

  constructor(postgresUrl: string, redisUrl: string) {
    this.sql = postgres(postgresUrl, { max: 2, onnotice: () => {} });
    this.redis = new Redis(redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2 });
  }

  /** Per boot of `poolInstance`: what PostgreSQL and Redis hold. */
  async boots(poolInstance: string): Promise<BootCounts[]> {
    const rows = await this.sql<
      { boot_id: string; region: string; n: number; d: number; lo: number; hi: number }[]
    >`
      select boot_id::text, min(region) as region, count(*)::int as n,
             count(distinct seq)::int as d, min(seq)::int as lo, max(seq)::int as hi
      from events where pool_instance = ${poolInstance} group by boot_id`;
    const redis = new Map<string, { entries: number; seqs: Set<number> }>();
    for (const type of EVENT_TYPES) {
      const stream = await this.redis.xrange(`events:${type}`, "-", "+") as Array<
        [string, string[]]
      >;
      for (const [, fields] of stream) {
        const e = JSON.parse(fields[fields.indexOf("envelope") + 1]) as {
          pool_instance: string;
          boot_id: string;
          seq: number;
        };
        if (e.pool_instance !== poolInstance) continue;
        const entry = redis.get(e.boot_id) ?? { entries: 0, seqs: new Set<number>() };
        entry.entries++;
        entry.seqs.add(e.seq);
        redis.set(e.boot_id, entry);
      }
    }
    return rows.map((r) => ({
      poolInstance,
      bootId: r.boot_id,
      region: r.region,
      minSeq: r.lo,
      maxSeq: r.hi,
      pgRows: r.n,
      pgDistinctSeqs: r.d,
      redisEntries: redis.get(r.boot_id)?.entries ?? 0,
      redisDistinctSeqs: redis.get(r.boot_id)?.seqs.size ?? 0,
    }));
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await this.sql.end({ timeout: 1 });
  }
}

/** Every seq from the first to the highest is in both stores exactly once. */
export function complete(b: BootCounts): boolean {
  const span = b.maxSeq - Math.min(b.minSeq, 1) + 1;
  return b.pgRows === span && b.pgDistinctSeqs === span && b.redisEntries === span &&
    b.redisDistinctSeqs === span;
}
