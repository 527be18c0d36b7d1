/**
 * The publisher: engine socket -> validation -> durable spool -> JetStream.
 *
 * Ingest loop: take every datagram received so far, validate each (invalid ->
 * dead-letter file), append the valid ones to the spool in one group commit,
 * refuse what does not fit (dead-letter with reason "spool full"). The
 * forwarder publishes from the spool independently, so NATS being down only
 * makes the spool grow.
 */

import { bindDatagramSocket, type DatagramBatcher } from "../lib/datagram_socket.ts";
import { createLogger, type Logger, LogSampler } from "../lib/log.ts";
import { Registry } from "../lib/metrics.ts";
import { type OpsServer, startOpsServer } from "../lib/ops_server.ts";
import type { PublisherConfig } from "./config.ts";
import { DeadLetterFile } from "./deadletter.ts";
import { Forwarder } from "./forwarder.ts";
import { NatsLink } from "./nats_link.ts";
import { publisherHealth } from "./publisher_health.ts";
import { fillLevel, sortDatagrams } from "./publisher_ingest.ts";
import { publisherMetrics, registerSpoolGauges } from "./publisher_metrics.ts";
import { Spool } from "./spool.ts";

export interface Publisher {
  readonly registry: Registry;
  readonly metricsPort: number;
  readonly spool: Spool;
  /** Rejects if ingestion fails (the spool cannot be written): the process should exit. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

export async function startPublisher(
  config: PublisherConfig,
  logger: Logger = createLogger({
    component: "publisher",
    region: config.region,
    level: config.logLevel,
  }),
): Promise<Publisher> {
  const registry = new Registry();
  const {
    received,
    spooled,
    invalid,
    refused,
    deadLettered,
    published,
    duplicates,
    publishErrors,
    natsConnected,
  } = publisherMetrics(registry);

  const deadLetter = new DeadLetterFile(config.deadLetterPath, config.deadLetterMaxBytes);
  await deadLetter.open();
  const spool = await Spool.open(config.spoolDir, {
    maxBytes: config.spoolMaxBytes,
    segmentBytes: config.segmentBytes,
    fsync: config.fsync,
    commitIntervalMs: config.commitIntervalMs,
  });
  registerSpoolGauges(registry, spool, config.spoolMaxBytes);
  logger.info("spool opened", {
    dir: config.spoolDir,
    committed: spool.committed,
    write_end: spool.writeEnd,
    backlog_bytes: spool.backlogBytes,
  });

  const link = new NatsLink({
    servers: config.natsUrl,
    tlsCaFile: config.natsTlsCa,
    name: `publisher-${config.region}`,
    publishTimeoutMs: config.publishTimeoutMs,
    logger,
    onState: (connected) => natsConnected.set(connected ? 1 : 0),
  });
  natsConnected.set(0);
  const publishLog = new LogSampler(logger, "nats published", 5_000);
  const forwarder = new Forwarder(spool, link, { maxInflight: config.maxInflight }, {
    acked(n, dup) {
      published.inc(n);
      duplicates.inc(dup);
      publishLog.add(n, () => ({
        total: published.get(),
        duplicates: duplicates.get(),
        backlog_bytes: spool.backlogBytes,
      }));
    },
    failed(error, attempt) {
      publishErrors.inc();
      if (attempt === 0 || attempt % 10 === 0) {
        logger.warn("nats publish failed, retrying from the spool", {
          error: (error as Error)?.message ?? String(error),
          attempt,
          backlog_bytes: spool.backlogBytes,
        });
      }
    },
    recovered(attempts) {
      logger.info("nats publishing resumed", { attempts, backlog_bytes: spool.backlogBytes });
    },
  });

  const socket = await bindDatagramSocket(config.socketPath);
  logger.info("listening for engine events", { socket: config.socketPath });

  let warnedLevel = 0;
  let lastFullLog = 0;
  const checkFill = () => {
    const ratio = spool.fillRatio;
    const level = fillLevel(ratio);
    if (level > warnedLevel) {
      logger.warn("spool filling up", {
        fill_ratio: Number(ratio.toFixed(3)),
        disk_bytes: spool.diskBytes,
        max_bytes: config.spoolMaxBytes,
        nats_connected: link.connected,
      });
    }
    warnedLevel = level;
  };

  const ingest = async (batcher: DatagramBatcher) => {
    while (true) {
      const datagrams = await batcher.next();
      if (datagrams.length === 0) return;
      received.inc(datagrams.length);
      const { entries, letters } = sortDatagrams(datagrams, config.region);
      if (letters.length > 0) {
        invalid.inc(letters.length);
        if (invalid.get() === letters.length || invalid.get() % 1000 < letters.length) {
          logger.warn("invalid events dead-lettered", {
            count: letters.length,
            total: invalid.get(),
            reason: letters[0].reason,
          });
        }
      }
      if (entries.length > 0) {
        const result = await spool.append(entries);
        spooled.inc(result.accepted);
        if (result.refused.length > 0) {
          refused.inc(result.refused.length);
          for (const e of result.refused) {
            letters.push({ reason: "spool full", payload: e.payload });
          }
          const now = Date.now();
          if (now - lastFullLog > 5_000) {
            lastFullLog = now;
            logger.error("spool full: refusing events", {
              refused_total: refused.get(),
              disk_bytes: spool.diskBytes,
              max_bytes: config.spoolMaxBytes,
            });
          }
        }
        checkFill();
      }
      if (letters.length > 0) deadLettered.inc(await deadLetter.write(letters));
    }
  };
  const ingesting = ingest(socket);

  const health = () =>
    publisherHealth({
      region: config.region,
      natsConnected: link.connected,
      spoolFillRatio: spool.fillRatio,
      spoolDiskBytes: spool.diskBytes,
      spoolMaxBytes: config.spoolMaxBytes,
      spoolBacklogBytes: spool.backlogBytes,
      commitError: spool.commitError,
    });
  let ops: OpsServer;
  try {
    ops = startOpsServer({
      component: "publisher",
      listen: config.metricsListen,
      listenVariable: "PUBLISHER_METRICS_LISTEN",
      registry,
      health,
    });
  } catch (error) {
    socket.close();
    await spool.close();
    throw error;
  }

  link.start();
  forwarder.start();

  return {
    registry,
    spool,
    metricsPort: ops.port,
    done: ingesting,
    async stop() {
      socket.close();
      await ingesting.catch((error) => logger.error("ingest failed", { error }));
      await forwarder.stop();
      publishLog.flush({ total: published.get() });
      await link.close();
      await spool.close();
      deadLetter.close();
      await ops.close();
      logger.info("publisher stopped", {
        committed: spool.committed,
        backlog_bytes: spool.backlogBytes,
      });
    },
  };
}
