/**
 * The event pipeline under test: nats-server, redis-server and postgres from
 * the harness, the stream initialised, one publisher and one collector as real
 * subprocesses, and helpers that read what landed in both stores.
 */

import postgres from "postgres";
import { Redis } from "ioredis";
import { type NatsServer, startNats } from "./nats.ts";
import { type PostgresServer, startPostgres } from "./postgres.ts";
import { type RedisServer, startRedis } from "./redis.ts";
import { freePort, waitFor } from "../ports.ts";
import type { ManagedProcess } from "../process.ts";
import { initNats } from "../../nats/init.ts";
import { EVENT_TYPES } from "../../functions/lib/envelope.ts";
import { publisherPaths, spawnCollector, spawnPublisher, waitHealthy } from "./functions.ts";

export interface PipelineStack {
  dir: string;
  region: string;
  nats: NatsServer;
  pg: PostgresServer;
  redis: RedisServer;
  publisherPort: number;
  collectorPort: number;
  socketPath: string;
  deadLetterPath: string;
  publisher: ManagedProcess;
  collector: ManagedProcess;
  sql: postgres.Sql;
  redisClient: Redis;
  startPublisher(): Promise<void>;
  startCollector(): Promise<void>;
  close(): Promise<void>;
}

export interface StackOptions {
  region?: string;
  publisherEnv?: Record<string, string>;
  collectorEnv?: Record<string, string>;
  /** False: the test starts the collector itself (`stack.startCollector()`). */
  startCollector?: boolean;
}

export async function startPipeline(options: StackOptions = {}): Promise<PipelineStack> {
  const region = options.region ?? "us-east";
  const dir = await Deno.makeTempDir({ prefix: "tbg-pipeline-" });
  const cleanups: Array<() => Promise<unknown>> = [
    () => Deno.remove(dir, { recursive: true }),
  ];
  const close = async () => {
    for (const fn of cleanups.reverse()) await fn().catch(() => {});
  };
  try {
    const [nats, pg, redis] = await Promise.all([startNats(), startPostgres(), startRedis()]);
    cleanups.push(() => nats.stop(), () => pg.stop(), () => redis.stop());
    await initNats(nats.url);
    const publisherPort = freePort();
    const collectorPort = freePort();
    const paths = publisherPaths(dir);
    const sql = postgres(pg.url, { max: 2, onnotice: () => {} });
    const redisClient = new Redis(redis.url, {
      lazyConnect: true,
      maxRetriesPerRequest: null,
      retryStrategy: () => 100,
    });
    redisClient.on("error", () => {});
    await redisClient.connect();
    cleanups.push(() => Promise.resolve(redisClient.disconnect()), () => sql.end({ timeout: 1 }));

    const stack: PipelineStack = {
      dir,
      region,
      nats,
      pg,
      redis,
      publisherPort,
      collectorPort,
      socketPath: paths.socket,
      deadLetterPath: paths.deadLetter,
      sql,
      redisClient,
      publisher: undefined as unknown as ManagedProcess,
      collector: undefined as unknown as ManagedProcess,
      async startPublisher() {
        stack.publisher = spawnPublisher({
          region,
          natsUrl: nats.url,
          dir,
          metricsPort: publisherPort,
          env: options.publisherEnv,
        }, `${dir}/publisher.log`);
        await waitHealthy(publisherPort, stack.publisher);
      },
      async startCollector() {
        stack.collector = spawnCollector({
          natsUrl: nats.url,
          databaseUrl: pg.url,
          redisUrl: redis.url,
          metricsPort: collectorPort,
          env: options.collectorEnv,
        }, `${dir}/collector.log`);
        await waitHealthy(collectorPort, stack.collector, 60_000);
      },
      close,
    };
    cleanups.push(
      async () => await stack.publisher?.stop(),
      async () => await stack.collector?.stop(),
    );
    await Promise.all([
      stack.startPublisher(),
      options.startCollector === false ? undefined : stack.startCollector(),
    ]);
    return stack;
  } catch (error) {
    await close();
    throw error;
  }
}

export interface StoreCounts {
  /** Rows in events for this boot. */
  pgRows: number;
  /** Distinct seqs in events for this boot. */
  pgDistinctSeqs: number;
  /** Stream entries across all events:<type> for this boot. */
  redisEntries: number;
  redisDistinctSeqs: number;
}

/** What both stores hold for one engine start, for seqs up to `upTo` (default: all). */
export async function storeCounts(
  stack: PipelineStack,
  bootId: string,
  upTo = Number.MAX_SAFE_INTEGER,
): Promise<StoreCounts> {
  const [row] = await stack.sql<{ n: string; d: string }[]>`
    select count(*)::text as n, count(distinct seq)::text as d from events
    where boot_id = ${bootId} and seq <= ${upTo}`;
  let entries = 0;
  const seqs = new Set<number>();
  for (const type of EVENT_TYPES) {
    const stream = await stack.redisClient.xrange(`events:${type}`, "-", "+") as Array<
      [string, string[]]
    >;
    for (const [, fields] of stream) {
      const envelope = JSON.parse(fields[fields.indexOf("envelope") + 1]);
      if (envelope.boot_id !== bootId || envelope.seq > upTo) continue;
      entries++;
      seqs.add(envelope.seq);
    }
  }
  return {
    pgRows: Number(row.n),
    pgDistinctSeqs: Number(row.d),
    redisEntries: entries,
    redisDistinctSeqs: seqs.size,
  };
}

/** Waits until both stores hold exactly seqs 1..n once each for `bootId`. */
export async function waitForAll(
  stack: PipelineStack,
  bootId: string,
  n: number,
  timeoutMs = 60_000,
): Promise<StoreCounts> {
  let last: StoreCounts | undefined;
  try {
    return await waitFor(async () => {
      last = await storeCounts(stack, bootId, n);
      return last.pgDistinctSeqs >= n && last.redisDistinctSeqs >= n ? last : undefined;
    }, { timeoutMs, intervalMs: 200, what: `${n} events in postgres and redis` });
  } catch (error) {
    throw new Error(
      `${(error as Error).message}; last counts ${JSON.stringify(last)}\n` +
        `publisher log tail:\n${stack.publisher.log().slice(-2000)}\n` +
        `collector log tail:\n${stack.collector.log().slice(-2000)}`,
    );
  }
}

/** The collector's seq state for a boot as stored. */
export async function sourceRow(
  stack: PipelineStack,
  bootId: string,
): Promise<{ highest_seq: number; missing: number; received: number } | undefined> {
  const rows = await stack.sql<{ highest_seq: string; missing: string; received: string }[]>`
    select highest_seq::text, missing::text, received::text from event_sources
    where boot_id = ${bootId}`;
  if (rows.length === 0) return undefined;
  return {
    highest_seq: Number(rows[0].highest_seq),
    missing: Number(rows[0].missing),
    received: Number(rows[0].received),
  };
}
