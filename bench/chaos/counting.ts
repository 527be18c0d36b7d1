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
import { SeqTally } from "./seq_tally.ts";

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
  tally: SeqTally;
  /** Copies of each seq read above the tally's line, not counted yet. */
  pending: Map<number, number>;
  maxSeq: number;
  minSeq: number;
}

/** One boot as PostgreSQL holds it, found through the (pool_instance, boot_id, seq) index. */
interface PgBoot {
  pool_instance: string;
  boot_id: string;
  lo: number;
  hi: number;
  /** ts of the boot's highest seq, ms. */
  newest: number;
}

/** One boot's PostgreSQL count, as count() combines it with Redis's. */
type PgBootCount = Pick<PgBoot, "pool_instance" | "lo" | "hi"> & { count: StoreCount };

function storeCount(
  minSeq: number,
  maxSeq: number,
  rows: number,
  distinct: number,
): Omit<StoreCount, "maxSeq"> {
  const span = maxSeq - Math.min(minSeq, 1) + 1;
  return { lost: Math.max(0, span - distinct), duplicated: rows - distinct, stored: rows };
}

/**
 * Every query here but the final count walks the index, never the table: a
 * run at 5,000 events/s stores millions of rows, and a scan of them every
 * 250 ms would load PostgreSQL more than the collector does.
 */
export class StoreCounter {
  readonly sql: postgres.Sql;
  readonly redis: Redis;
  readonly #lastId = new Map<string, string>();
  readonly #boots = new Map<string, RedisBoot>();
  readonly #pgTallies = new Map<string, SeqTally>();
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
        tally: new SeqTally(),
        pending: new Map(),
        maxSeq: -1,
        minSeq: Infinity,
      };
      this.#boots.set(e.boot_id, boot);
    }
    if (e.seq <= boot.tally.countedTo) boot.tally.late(e.seq, 1);
    else boot.pending.set(e.seq, (boot.pending.get(e.seq) ?? 0) + 1);
    boot.maxSeq = Math.max(boot.maxSeq, e.seq);
    boot.minSeq = Math.min(boot.minSeq, e.seq);
    const ms = e.ts / 1000;
    if (ms > (this.redisNewestMs.get(e.pool_instance) ?? 0)) {
      this.redisNewestMs.set(e.pool_instance, ms);
      this.latestBoot.set(e.pool_instance, e.boot_id);
    }
  }

  /**
   * Every boot in PostgreSQL with its lowest and highest seq: a skip scan of
   * the (pool_instance, boot_id, seq) index, a few probes per boot.
   */
  async #pgBoots(): Promise<PgBoot[]> {
    return await this.sql<PgBoot[]>`
      with recursive b(pool_instance, boot_id) as (
        (select pool_instance, boot_id from events order by pool_instance, boot_id limit 1)
        union all
        select n.pool_instance, n.boot_id from b cross join lateral (
          select e.pool_instance, e.boot_id from events e
          where (e.pool_instance, e.boot_id) > (b.pool_instance, b.boot_id)
          order by e.pool_instance, e.boot_id limit 1) n
      )
      select b.pool_instance, b.boot_id::text, lo.seq::float8 as lo, hi.seq::float8 as hi,
             (extract(epoch from hi.ts) * 1000)::float8 as newest
      from b
      cross join lateral (select seq from events e
        where e.pool_instance = b.pool_instance and e.boot_id = b.boot_id
        order by seq limit 1) lo
      cross join lateral (select seq, ts from events e
        where e.pool_instance = b.pool_instance and e.boot_id = b.boot_id
        order by seq desc limit 1) hi`;
  }

  /** Newest event ts (ms) per pool_instance among PostgreSQL rows emitted after `sinceMs`. */
  async pgNewest(sinceMs: number): Promise<Map<string, number>> {
    const newest = new Map<string, number>();
    for (const b of await this.#pgBoots()) {
      if (b.newest > sinceMs && b.newest > (newest.get(b.pool_instance) ?? 0)) {
        newest.set(b.pool_instance, b.newest);
      }
    }
    return newest;
  }

  /** Copies of each seq of a boot in PostgreSQL: seqs in (from, to], or those listed. */
  async #pgCopies(
    b: PgBoot,
    range: { from: number; to: number } | { seqs: number[] },
  ): Promise<Map<number, number>> {
    const where = "seqs" in range
      ? this.sql`seq = any(${range.seqs}::bigint[])`
      : this.sql`seq > ${range.from} and seq <= ${range.to}`;
    const rows = await this.sql<{ seq: number; n: number }[]>`
      select seq::float8 as seq, count(*)::int as n from events
      where pool_instance = ${b.pool_instance} and boot_id = ${b.boot_id}::uuid and ${where}
      group by seq`;
    return new Map(rows.map((r) => [r.seq, r.n]));
  }

  /** PostgreSQL's count of one boot up to `mark`, moving its tally there. */
  async #pgCount(b: PgBoot, mark: number): Promise<StoreCount> {
    let tally = this.#pgTallies.get(b.boot_id);
    if (!tally) this.#pgTallies.set(b.boot_id, tally = new SeqTally());
    const missing = tally.missing();
    if (missing.length > 0) {
      for (const [seq, n] of await this.#pgCopies(b, { seqs: missing })) tally.late(seq, n);
    }
    const to = Math.min(mark, b.hi);
    if (to > tally.countedTo) {
      const copies = await this.#pgCopies(b, { from: tally.countedTo, to });
      tally.advance(to, (seq) => copies.get(seq));
    }
    return { ...tally.count(), maxSeq: b.hi };
  }

  /** Every boot and seq in one scan: the last count, once nothing is in flight. */
  async #pgFullCount(): Promise<Map<string, PgBootCount>> {
    const rows = await this.sql<
      { pool_instance: string; boot_id: string; n: number; d: number; lo: number; hi: number }[]
    >`
      select pool_instance, boot_id::text, count(*)::int as n, count(distinct seq)::int as d,
             min(seq)::float8 as lo, max(seq)::float8 as hi
      from events group by pool_instance, boot_id`;
    return new Map(rows.map((r) => [r.boot_id, {
      ...r,
      count: { ...storeCount(r.lo, r.hi, r.n, r.d), maxSeq: r.hi },
    }]));
  }

  /**
   * Every boot either store holds, counted in both (Redis as read so far).
   * Concurrent batches commit out of order, so the newest seqs can have holes
   * that the next commit fills: gaps and copies are counted only up to each
   * boot's watermark, the lower of the two stores' highest seq at the previous
   * call (`full`: every seq, for the last count, once nothing is in flight).
   */
  async count(full = false): Promise<BootCount[]> {
    const pg: Map<string, PgBootCount> = full ? await this.#pgFullCount() : new Map(
      await Promise.all(
        (await this.#pgBoots()).map(async (b) => {
          const count = await this.#pgCount(b, this.#watermark.get(b.boot_id) ?? -1);
          return [b.boot_id, { ...b, count }] as const;
        }),
      ),
    );
    const result = new Map<string, BootCount>();
    for (const [bootId, r] of pg) {
      const redis = this.#boots.get(bootId);
      const minSeq = Math.min(r.lo, redis?.minSeq ?? Infinity);
      result.set(bootId, {
        poolInstance: r.pool_instance,
        bootId,
        minSeq,
        maxSeq: Math.max(r.hi, redis?.maxSeq ?? -1),
        pg: r.count,
        redis: this.#redisCount(redis, full ? Infinity : this.#watermark.get(bootId) ?? -1),
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
        redis: this.#redisCount(b, full ? Infinity : this.#watermark.get(bootId) ?? -1),
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

  /** Redis's count of one boot up to `mark`, moving its tally there. */
  #redisCount(boot: RedisBoot | undefined, mark: number): StoreCount {
    if (!boot) return { lost: 0, duplicated: 0, stored: 0, maxSeq: -1 };
    const to = Math.min(mark, boot.maxSeq);
    if (to > boot.tally.countedTo) {
      boot.tally.advance(to, (seq) => boot.pending.get(seq));
      for (const seq of boot.pending.keys()) if (seq <= to) boot.pending.delete(seq);
    }
    return { ...boot.tally.count(), maxSeq: boot.maxSeq };
  }

  async close(): Promise<void> {
    this.redis.disconnect();
    await this.sql.end({ timeout: 1 });
  }
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
