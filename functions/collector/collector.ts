/**
 * The collector: sources (JetStream consumer and/or engine sockets) -> batch
 * pipeline -> PostgreSQL + Redis Streams, with seq-gap tracking per engine
 * start and /metrics + /health.
 */

import { Redis } from "ioredis";
import type { NatsConnection } from "@nats-io/transport-node";
import { backoffDelay, sleep } from "../lib/backoff.ts";
import { createLogger, type Logger, LogSampler } from "../lib/log.ts";
import { Registry } from "../lib/metrics.ts";
import { connectNats } from "../lib/nats_connect.ts";
import { startOpsServer } from "../lib/ops_server.ts";
import { collectorHealth, missingTotal } from "./collector_health.ts";
import { collectorMetrics } from "./collector_metrics.ts";
import type { CollectorConfig } from "./config.ts";
import { allMigrations, migrate } from "./migrate.ts";
import { installClosedSocketWriteGuard, PgClient } from "./pg_client.ts";
import { runNatsSource } from "./nats_source.ts";
import { CONSUMER_MAX_ACK_PENDING } from "../lib/stream.ts";
import { loadSources, type SourceSeq, writeEvents } from "./pg_sink.ts";
import { CollectorPipeline, type Item } from "./pipeline.ts";
import { RedisSink } from "./redis_sink.ts";
import {
  isPermanentPgError,
  pgOptions,
  pgWriteTimeoutMs,
  redisOptions,
  withTimeout,
} from "./store_options.ts";

// Re-exported: tests and callers have always taken these from the collector.
export { isPermanentPgError, pgOptions, pgWriteTimeoutMs, redisOptions, withTimeout };
import { type SocketSource, startSocketSource } from "./socket_source.ts";

export interface Collector {
  readonly registry: Registry;
  readonly metricsPort: number;
  /** Seq state per `${pool_instance}/${boot_id}` as last committed. */
  readonly sources: ReadonlyMap<string, SourceSeq>;
  stop(): Promise<void>;
}

function sourceKey(s: { pool_instance: string; boot_id: string }): string {
  return `${s.pool_instance}/${s.boot_id}`;
}

export async function startCollector(
  config: CollectorConfig,
  logger: Logger = createLogger({
    component: "collector",
    region: "global",
    level: config.logLevel,
  }),
): Promise<Collector> {
  const registry = new Registry();
  const {
    received,
    invalid,
    inserted,
    duplicates,
    redisAdded,
    blocks,
    batches,
    deadLettered,
    sinkErrors,
    lag,
    seqHighest,
    seqMissing,
  } = collectorMetrics(registry);
  const sources = new Map<string, SourceSeq>();
  // The seq gauges carry only the current (last reported) boot of each
  // pool_instance, labelled without boot_id: one series per engine, however
  // often it restarts. /health names each current boot_id.
  const currentBoot = new Map<string, SourceSeq>();
  const retiredBoots = new Set<string>();
  registry.gaugeFn(
    "collector_seq_missing_all_boots",
    "Missing seqs over all tracked engine starts",
    () => missingTotal(sources.values()),
  );
  const natsConnected = registry.gauge("collector_nats_connected", "1 while connected to NATS");

  const trackSource = (s: SourceSeq) => {
    // Concurrent batches report in completion order; `received` only grows,
    // so the report with the most rows is the latest committed state.
    const before = sources.get(sourceKey(s));
    if (before !== undefined && before.received > s.received) return;
    sources.set(sourceKey(s), s);
    // A late redelivery from a boot already replaced must not take the gauges back,
    // nor may a boot that its successor's engine_started just declared ended.
    if (s.announcedOnly || retiredBoots.has(sourceKey(s))) return;
    const current = currentBoot.get(s.pool_instance);
    if (current !== undefined && current.boot_id !== s.boot_id) {
      retiredBoots.add(sourceKey(current));
      if (current.region !== s.region) {
        seqHighest.delete({ pool_instance: current.pool_instance, region: current.region });
        seqMissing.delete({ pool_instance: current.pool_instance, region: current.region });
      }
    }
    currentBoot.set(s.pool_instance, s);
    const labels = { pool_instance: s.pool_instance, region: s.region };
    seqHighest.set(s.highest_seq, labels);
    seqMissing.set(s.missing, labels);
  };

  const pg = new PgClient(config.databaseUrl, pgOptions(config));
  const pgClientFaults = registry.counter(
    "collector_pg_client_faults_total",
    "postgres.js wrote to a closed connection (caught; the client was replaced)",
  );
  pgClientFaults.inc(0); // exposed as 0 from the start: alert on any increase
  const removeGuard = installClosedSocketWriteGuard((error) => {
    pgClientFaults.inc();
    pg.replace();
    logger.error("postgres client wrote to a closed connection; replaced the client", {
      error: error.message,
      faults_total: pgClientFaults.get(),
    });
  });
  const redis = new Redis(config.redisUrl, redisOptions(config));
  redis.on("error", () => {});
  redis.connect().catch(() => {});
  const redisSink = new RedisSink(redis, {
    streamMaxLen: config.streamMaxLen,
    dedupTtlSeconds: config.dedupTtlSeconds,
  });

  const abort = new AbortController();
  // Schema first: nothing is consumed before the tables exist.
  // A connection dropped at any point (refused, reset, backend terminated
  // mid-transaction) fails this attempt only: logged, retried with backoff.
  for (let attempt = 0;; attempt++) {
    try {
      const result = await migrate(pg.sql, await allMigrations(), logger);
      logger.info("schema ready", {
        applied: result.applied,
        hypertable: result.hypertable,
        timescale: result.timescale,
      });
      // Newest last, so the newest boot of each pool_instance ends up current.
      for (const s of (await loadSources(pg.sql)).reverse()) trackSource(s);
      break;
    } catch (error) {
      logger.warn("postgres not ready for migrations; retrying", {
        error: (error as Error)?.message ?? String(error),
        code: (error as { code?: string })?.code,
        attempt,
      });
      await sleep(backoffDelay(attempt, { initialMs: 250, maxMs: 5_000 }));
    }
  }

  const commitLog = new LogSampler(logger, "batches committed", 5_000);
  const pipeline = new CollectorPipeline(
    {
      writePg: (events, payloads) =>
        withTimeout(
          writeEvents(pg.sql, events, payloads),
          pgWriteTimeoutMs(config),
          "postgres write",
        ),
      writeRedis: (events, payloads) => redisSink.write(events, payloads),
      isPermanentPgError,
    },
    {
      batchMax: config.batchMax,
      batchWaitMs: config.batchWaitMs,
      concurrency: config.concurrency,
    },
    {
      committed(report) {
        batches.inc();
        inserted.inc(report.pg.inserted);
        duplicates.inc(report.unique - report.pg.inserted + (report.items - report.unique));
        redisAdded.inc(report.redisAdded);
        blocks.inc(report.pg.blocks);
        lag.set(Number(report.maxLagSeconds.toFixed(6)));
        for (const s of report.pg.sources) {
          const before = sources.get(sourceKey(s));
          if (s.missing > 0 && (before?.missing ?? 0) !== s.missing) {
            logger.warn("seq gap", {
              pool_instance: s.pool_instance,
              boot_id: s.boot_id,
              highest_seq: s.highest_seq,
              missing: s.missing,
            });
          }
          trackSource(s);
        }
        commitLog.add(1, () => ({
          inserted_total: inserted.get(),
          duplicates_total: duplicates.get(),
          queued: pipeline.queued,
          lag_seconds: lag.get(),
        }));
      },
      sinkFailed(sink, error, attempt) {
        sinkErrors.inc(1, { sink });
        if (attempt === 0 || attempt % 20 === 0) {
          logger.warn("write failed; not acknowledging, retrying", {
            sink,
            attempt,
            error: (error as Error)?.message ?? String(error),
          });
        }
      },
      rejected(item, error) {
        deadLettered.inc(1, { event: item.envelope.event });
        // The log line is the dead letter: it carries the whole payload.
        logger.error("event permanently rejected by postgres; terminated and dead-lettered", {
          event_id: item.envelope.event_id,
          event: item.envelope.event,
          pool_instance: item.envelope.pool_instance,
          sqlstate: (error as { code?: string })?.code,
          error: (error as Error)?.message ?? String(error),
          payload: item.payload,
          deadlettered_total: deadLettered.get({ event: item.envelope.event }),
        });
      },
      sinkRecovered(sink, attempts) {
        logger.info("write recovered", { sink, attempts });
      },
    },
  );
  registry.gaugeFn(
    "collector_queued_events",
    "Events received, not yet committed",
    () => pipeline.queued,
  );
  registry.gaugeFn(
    "collector_postgres_up",
    "0 while PostgreSQL writes fail",
    () => pipeline.sinkUp("postgres") ? 1 : 0,
  );
  registry.gaugeFn(
    "collector_redis_up",
    "0 while Redis writes fail",
    () => pipeline.sinkUp("redis") ? 1 : 0,
  );
  pipeline.start();

  const onItem = (kind: string) => (item: Item) => {
    received.inc(1, { source: kind });
    pipeline.push(item);
  };
  const onInvalid = (kind: string) => (reason: string) => {
    invalid.inc(1, { source: kind });
    if (invalid.get({ source: kind }) % 1000 === 1) {
      logger.warn("invalid event dropped", {
        source: kind,
        reason,
        total: invalid.get({ source: kind }),
      });
    }
  };

  let nc: NatsConnection | undefined;
  let natsRun: Promise<void> | undefined;
  const wantsNats = config.sources.some((s) => s.kind === "nats");
  if (wantsNats) {
    natsConnected.set(0);
    const connecting = connectNats({
      servers: config.natsUrl,
      tlsCaFile: config.natsTlsCa,
      name: "collector",
      waitOnFirstConnect: true,
    });
    natsRun = connecting.then(async (conn) => {
      nc = conn;
      natsConnected.set(1);
      logger.info("nats connected", { server: conn.getServer() });
      void (async () => {
        for await (const s of conn.status()) {
          if (s.type === "disconnect") {
            natsConnected.set(0);
            logger.warn("nats disconnected", { server: s.server });
          } else if (s.type === "reconnect") {
            natsConnected.set(1);
            logger.info("nats reconnected", { server: s.server });
          }
        }
      })();
      await runNatsSource({
        nc: conn,
        logger,
        // Enough to fill every concurrent batch and the next, within max_ack_pending.
        maxMessages: Math.min(
          Math.max(config.batchMax * (config.concurrency + 1), 1_000),
          CONSUMER_MAX_ACK_PENDING,
        ),
        onItem: onItem("nats"),
        onInvalid: onInvalid("nats"),
      }, abort.signal);
    });
    natsRun.catch((error) => logger.error("nats source failed", { error: error.message }));
  }
  const sockets: SocketSource[] = [];
  const socketFailures: string[] = [];
  for (const spec of config.sources) {
    if (spec.kind !== "socket") continue;
    sockets.push(
      await startSocketSource({
        path: spec.path,
        onItem: onItem("socket"),
        onInvalid: onInvalid("socket"),
      }),
    );
    logger.info("listening for engine events", { socket: spec.path });
    sockets[sockets.length - 1].done.catch((error) => {
      socketFailures.push(`socket ${spec.path} failed: ${(error as Error)?.message ?? error}`);
      logger.error("engine socket receive failed; this source stopped", {
        socket: spec.path,
        error: (error as Error)?.message ?? String(error),
      });
    });
  }

  const health = () =>
    collectorHealth({
      postgresUp: pipeline.sinkUp("postgres"),
      redisUp: pipeline.sinkUp("redis"),
      natsConnected: wantsNats ? natsConnected.get() !== 0 : undefined,
      socketFailures,
      queued: pipeline.queued,
      seqMissingTotal: missingTotal(sources.values()),
      currentBoots: Object.fromEntries(
        [...currentBoot].map(([instance, s]) => [instance, s.boot_id]),
      ),
    });
  const ops = startOpsServer({
    component: "collector",
    listen: config.metricsListen,
    listenVariable: "COLLECTOR_METRICS_LISTEN",
    registry,
    health,
  });

  return {
    registry,
    sources,
    metricsPort: ops.port,
    async stop() {
      abort.abort();
      for (const s of sockets) s.close();
      await pipeline.stop();
      if (nc) {
        await nc.drain().catch(() => {});
        await natsRun?.catch(() => {});
      }
      redis.disconnect();
      await pg.end({ timeout: 5 });
      removeGuard();
      await ops.close();
      logger.info("collector stopped");
    },
  };
}
