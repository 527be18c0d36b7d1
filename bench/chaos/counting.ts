/**
 * Counts, per engine start (pool_instance, boot_id), what each central store
 * holds: PostgreSQL by an aggregate query, Redis Streams by reading every
 * `events:<type>` stream forward from where the last read stopped (so the
 * streams' MAXLEN trimming cannot hide an entry the bench has not seen yet;
 * a trim past the read position is reported). Lost = seqs missing between
 * the boot's first seq (1, or 0) and its highest; duplicated = copies beyond
 * the first of a seq. A boot's highest seq is also what its successor's
 * engine_started announced (previous_last_seq): what a SIGKILL took from the
 * engine's queue is a gap at the end of the boot (docs/events.md).
 */

import postgres from "postgres";
import { Redis } from "ioredis";
import { EVENT_TYPES } from "../../functions/lib/envelope.ts";

export interface StoreCount {
  /** Seqs missing below this store's highest seq of the boot. */
  lost: number;
  /** Copies beyond the first. */
  duplicated: number;
  stored: number;
  /** This store's highest seq of the boot (-1 when it holds none). */
  maxSeq: number;
}

export interface BootCount {
  poolInstance: string;
  bootId: string;
  minSeq: number;
  /** The highest seq either store holds. */
  maxSeq: number;
  /** previous_last_seq from the successor boot's engine_started, when one is stored. */
  announcedLastSeq?: number;
  pg: StoreCount;
  redis: StoreCount;
}

interface RedisBoot {
  poolInstance: string;
  /** Copies of each seq. */
  seqs: Map<number, number>;
  maxSeq: number;
  minSeq: number;
  entries: number;
}

function storeCount(
  minSeq: number,
  maxSeq: number,
  rows: number,
  distinct: number,
): Omit<StoreCount, "maxSeq"> {
  const span = maxSeq - Math.min(minSeq, 1) + 1;
  return { lost: Math.max(0, span - distinct), duplicated: rows - distinct, stored: rows };
}

export class StoreCounter {
  readonly sql: postgres.Sql;
  readonly redis: Redis;
  readonly #lastId = new Map<string, string>();
  readonly #boots = new Map<string, RedisBoot>();
  /** Per boot: seqs up to here are counted (see count()). */
  readonly #watermark = new Map<string, number>();
  /** Newest event ts (ms) per pool_instance seen in Redis. */
  readonly redisNewestMs = new Map<string, number>();
  /** The boot of each pool_instance whose event Redis had newest. */
  readonly latestBoot = new Map<string, string>();
  /** Entries trimmed away before the bench read them. */
  trimmedUnread = 0;

  constructor(postgresUrl: string, redisUrl: string) {
    this.sql = postgres(postgresUrl, { max: 2, onnotice: () => {} });
    this.redis = new Redis(redisUrl, { maxRetriesPerRequest: 1, lazyConnect: false });
    this.redis.on("error", () => {}); // Redis restarts are a fault under test
  }

  /** Reads every stream entry added since the last call. */
  async readRedis(): Promise<void> {
    for (const type of EVENT_TYPES) {
      const key = `events:${type}`;
      let last = this.#lastId.get(key);
      if (last !== undefined) {
        const first = await this.redis.xrange(key, "-", "+", "COUNT", 1) as Array<
          [string, string[]]
        >;
        if (first.length && compareIds(first[0][0], last) > 0) this.trimmedUnread++;
      }
      while (true) {
        const start = last === undefined ? "-" : `(${last}`;
        const batch = await this.redis.xrange(key, start, "+", "COUNT", 5000) as Array<
          [string, string[]]
        >;
        for (const [id, fields] of batch) {
          last = id;
          this.#add(JSON.parse(fields[fields.indexOf("envelope") + 1]));
        }
        if (last !== undefined) this.#lastId.set(key, last);
        if (batch.length < 5000) break;
      }
    }
  }

  #add(e: { pool_instance: string; boot_id: string; seq: number; ts: number }): void {
    let boot = this.#boots.get(e.boot_id);
    if (!boot) {
      boot = {
        poolInstance: e.pool_instance,
        seqs: new Map(),
        maxSeq: -1,
        minSeq: Infinity,
        entries: 0,
      };
      this.#boots.set(e.boot_id, boot);
    }
    boot.seqs.set(e.seq, (boot.seqs.get(e.seq) ?? 0) + 1);
    boot.entries++;
    boot.maxSeq = Math.max(boot.maxSeq, e.seq);
    boot.minSeq = Math.min(boot.minSeq, e.seq);
    const ms = e.ts / 1000;
    if (ms > (this.redisNewestMs.get(e.pool_instance) ?? 0)) {
      this.redisNewestMs.set(e.pool_instance, ms);
      this.latestBoot.set(e.pool_instance, e.boot_id);
    }
  }

  /** Newest event ts (ms) per pool_instance among PostgreSQL rows emitted after `sinceMs`. */
  async pgNewest(sinceMs: number): Promise<Map<string, number>> {
    const rows = await this.sql<{ pool_instance: string; newest: number }[]>`
      select pool_instance, (extract(epoch from max(ts)) * 1000)::float8 as newest
      from events where ts > ${new Date(sinceMs)} group by pool_instance`;
    return new Map(rows.map((r) => [r.pool_instance, r.newest]));
  }

  /**
   * Every boot either store holds, counted in both (Redis as read so far).
   * Concurrent batches commit out of order, so the newest seqs can have holes
   * that the next commit fills: gaps and copies are counted only up to each
   * boot's watermark, the lower of the two stores' highest seq at the previous
   * call (`full`: every seq, for the last count, once nothing is in flight).
   */
  async count(full = false): Promise<BootCount[]> {
    const ids = [...this.#watermark.keys()];
    const marks = ids.map((id) => full ? Number.MAX_SAFE_INTEGER : this.#watermark.get(id)!);
    const rows = await this.sql<
      {
        pool_instance: string;
        boot_id: string;
        n: number;
        d: number;
        lo: number;
        hi: number;
        wm: number | null;
      }[]
    >`
      with wm as (
        select * from unnest(${ids}::uuid[], ${marks}::bigint[]) as w(boot_id, hi)
      )
      select e.pool_instance, e.boot_id::text,
             count(*) filter (where e.seq <= wm.hi)::int as n,
             count(distinct e.seq) filter (where e.seq <= wm.hi)::int as d,
             min(e.seq)::int as lo, max(e.seq)::int as hi, min(wm.hi)::float8 as wm
      from events e left join wm on wm.boot_id = e.boot_id
      group by e.pool_instance, e.boot_id`;
    const result = new Map<string, BootCount>();
    for (const r of rows) {
      const redis = this.#boots.get(r.boot_id);
      const minSeq = Math.min(r.lo, redis?.minSeq ?? Infinity);
      const mark = r.wm ?? -1;
      result.set(r.boot_id, {
        poolInstance: r.pool_instance,
        bootId: r.boot_id,
        minSeq,
        maxSeq: Math.max(r.hi, redis?.maxSeq ?? -1),
        pg: { ...storeCount(minSeq, Math.min(mark, r.hi), r.n, r.d), maxSeq: r.hi },
        redis: redisCount(redis, minSeq, mark),
      });
    }
    for (const [bootId, b] of this.#boots) {
      if (result.has(bootId)) continue;
      result.set(bootId, {
        poolInstance: b.poolInstance,
        bootId,
        minSeq: b.minSeq,
        maxSeq: b.maxSeq,
        pg: { lost: 0, duplicated: 0, stored: 0, maxSeq: -1 },
        redis: redisCount(b, b.minSeq, full ? Infinity : this.#watermark.get(bootId) ?? -1),
      });
    }
    for (const boot of result.values()) {
      this.#watermark.set(boot.bootId, Math.min(boot.pg.maxSeq, boot.redis.maxSeq));
    }
    for (const [bootId, last] of await this.#announcements()) {
      const boot = result.get(bootId);
      if (boot) boot.announcedLastSeq = last;
      else {
        // Announced, and nothing of it stored anywhere: all of it was lost.
        const none = { lost: 0, duplicated: 0, stored: 0, maxSeq: -1 };
        result.set(bootId, {
          poolInstance: "",
          bootId,
          minSeq: 1,
          maxSeq: -1,
          announcedLastSeq: last,
          pg: none,
          redis: { ...none },
        });
      }
    }
    return [...result.values()];
  }

  /** previous_boot_id -> previous_last_seq of every engine_started in PostgreSQL. */
  async #announcements(): Promise<Map<string, number>> {
    const rows = await this.sql<{ boot_id: string; last: number }[]>`
      select data->>'previous_boot_id' as boot_id, max((data->>'previous_last_seq')::bigint)::float8 as last
      from events where event = 'engine_started'
        and data->>'previous_last_seq' ~ '^[0-9]{1,15}$'
      group by 1`;
    return new Map(rows.map((r) => [r.boot_id, r.last]));
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await this.sql.end({ timeout: 1 });
  }
}

/** Redis's count of one boot up to `mark`. */
function redisCount(boot: RedisBoot | undefined, minSeq: number, mark: number): StoreCount {
  if (!boot) return { lost: 0, duplicated: 0, stored: 0, maxSeq: -1 };
  let rows = 0;
  let distinct = 0;
  for (const [seq, copies] of boot.seqs) {
    if (seq > mark) continue;
    rows += copies;
    distinct++;
  }
  return {
    ...storeCount(minSeq, Math.min(mark, boot.maxSeq), rows, distinct),
    maxSeq: boot.maxSeq,
  };
}

/** Orders Redis stream ids `ms-seq`. */
function compareIds(a: string, b: string): number {
  const [am, as] = a.split("-").map(Number);
  const [bm, bs] = b.split("-").map(Number);
  return am - bm || as - bs;
}

/**
 * Totals over boots. `withTail`: a store also loses the seqs the other store
 * holds beyond its own highest (for the final count, once nothing is in flight).
 */
export function totals(
  boots: readonly BootCount[],
  withTail = false,
): { pg: Omit<StoreCount, "maxSeq">; redis: Omit<StoreCount, "maxSeq"> } {
  const sum = (pick: (b: BootCount) => StoreCount) => ({
    lost: boots.reduce((n, b) => n + lostIn(b, pick(b), withTail), 0),
    duplicated: boots.reduce((n, b) => n + pick(b).duplicated, 0),
    stored: boots.reduce((n, b) => n + pick(b).stored, 0),
  });
  return { pg: sum((b) => b.pg), redis: sum((b) => b.redis) };
}

/**
 * Seqs of `boot` one store is missing; with the tail, up to the boot's end:
 * its highest seq in either store, or the announced last seq when higher.
 */
export function lostIn(boot: BootCount, store: StoreCount, withTail: boolean): number {
  if (!withTail) return store.lost;
  const end = Math.max(boot.maxSeq, boot.announcedLastSeq ?? -1);
  if (store.maxSeq < 0) return Math.max(0, end - Math.min(boot.minSeq, 1) + 1);
  return store.lost + end - store.maxSeq;
}
