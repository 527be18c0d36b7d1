/**
 * The publisher: engine socket -> validation -> durable spool -> JetStream.
 *
 * Ingest loop: take every datagram received so far, validate each (invalid ->
 * dead-letter file), append the valid ones to the spool in one group commit,
 * refuse what does not fit (dead-letter with reason "spool full"). The
 * forwarder publishes from the spool independently, so NATS being down only
 * makes the spool grow.
 */

import { decodeEnvelope, subjectFor } from "../lib/envelope.ts";
import { bindDatagramSocket, type DatagramBatcher } from "../lib/datagram_socket.ts";
import { createLogger, type Logger, LogSampler } from "../lib/log.ts";
import { Registry } from "../lib/metrics.ts";
import { type HealthReport, type OpsServer, startOpsServer } from "../lib/ops_server.ts";
import type { PublisherConfig } from "./config.ts";
import { type DeadLetter, DeadLetterFile } from "./deadletter.ts";
import { Forwarder } from "./forwarder.ts";
import { NatsLink } from "./nats_link.ts";
import { Spool, type SpoolEntry } from "./spool.ts";

export interface Publisher {
  readonly registry: Registry;
  readonly metricsPort: number;
  readonly spool: Spool;
  /** Rejects if ingestion fails (the spool cannot be written): the process should exit. */
  readonly done: Promise<void>;
  stop(): Promise<void>;
}

/** Fill ratios at which the publisher logs a warning as the spool grows. */
const FILL_WARNINGS = [0.5, 0.8, 0.95];

export async function startPublisher(
  config: PublisherConfig,
  logger: Logger = createLogger({
    component: "publisher",
    region: config.region,
    level: config.logLevel,
  }),
): Promise<Publisher> {
  const registry = new Registry();
  const received = registry.counter(
    "publisher_datagrams_received_total",
    "Datagrams read from the engine socket",
  );
  const spooled = registry.counter("publisher_events_spooled_total", "Valid events spooled");
  const invalid = registry.counter(
    "publisher_events_invalid_total",
    "Datagrams that failed validation (dead-lettered)",
  );
  const refused = registry.counter(
    "publisher_events_refused_total",
    "Valid events refused because the spool was full",
  );
  const deadLettered = registry.counter(
    "publisher_deadletter_written_total",
    "Lines written to the dead-letter file",
  );
  const published = registry.counter(
    "publisher_events_published_total",
    "Events acknowledged by JetStream",
  );
  const duplicates = registry.counter(
    "publisher_publish_duplicates_total",
    "Publishes JetStream reported as duplicates (absorbed by Nats-Msg-Id)",
  );
  const publishErrors = registry.counter(
    "publisher_publish_errors_total",
    "Publish passes that failed and were retried",
  );
  const natsConnected = registry.gauge(
    "publisher_nats_connected",
    "1 while connected to NATS",
  );

  const deadLetter = new DeadLetterFile(config.deadLetterPath, config.deadLetterMaxBytes);
  await deadLetter.open();
  const spool = await Spool.open(config.spoolDir, {
    maxBytes: config.spoolMaxBytes,
    segmentBytes: config.segmentBytes,
    fsync: config.fsync,
    commitIntervalMs: config.commitIntervalMs,
  });
  registry.gaugeFn(
    "publisher_spool_backlog_bytes",
    "Spooled bytes not yet acknowledged",
    () => spool.backlogBytes,
  );
  registry.gaugeFn(
    "publisher_spool_disk_bytes",
    "Bytes the spool segments take",
    () => spool.diskBytes,
  );
  registry.gaugeFn(
    "publisher_spool_max_bytes",
    "Configured spool bound",
    () => config.spoolMaxBytes,
  );
  registry.gaugeFn("publisher_spool_fill_ratio", "Spool disk bytes / bound", () => spool.fillRatio);
  registry.gaugeFn(
    "publisher_spool_committed_offset",
    "Acknowledged spool offset",
    () => spool.committed,
  );
  registry.gaugeFn(
    "publisher_spool_write_offset",
    "Durable end of the spool",
    () => spool.writeEnd,
  );
  logger.info("spool opened", {
    dir: config.spoolDir,
    committed: spool.committed,
    write_end: spool.writeEnd,
    backlog_bytes: spool.backlogBytes,
  });

  const link = new NatsLink({
    servers: config.natsUrl,
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
    const level = FILL_WARNINGS.filter((t) => ratio >= t).length;
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
      const entries: SpoolEntry[] = [];
      const letters: DeadLetter[] = [];
      for (const payload of datagrams) {
        const decoded = decodeEnvelope(payload);
        if (!decoded.ok) {
          letters.push({ reason: decoded.reason, payload });
          continue;
        }
        const { envelope } = decoded;
        if (envelope.region !== config.region) {
          letters.push({
            reason: `region '${envelope.region}' does not match REGION '${config.region}'`,
            payload,
          });
          continue;
        }
        entries.push({ subject: subjectFor(envelope), msgId: envelope.event_id, payload });
      }
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

  const health = (): HealthReport => {
    const reasons: string[] = [];
    if (!link.connected) reasons.push("nats disconnected");
    if (spool.fillRatio >= 1 || spool.diskBytes + 64 * 1024 > config.spoolMaxBytes) {
      reasons.push("spool full");
    } else if (spool.fillRatio >= 0.8) reasons.push("spool above 80%");
    const commitError = spool.commitError;
    if (commitError !== undefined) {
      reasons.push(`spool commit failing: ${commitError.message}`);
    }
    const status = reasons.includes("spool full") || commitError !== undefined
      ? "down"
      : reasons.length > 0
      ? "degraded"
      : "ok";
    return {
      status,
      reasons,
      region: config.region,
      nats_connected: link.connected,
      spool_backlog_bytes: spool.backlogBytes,
      spool_fill_ratio: spool.fillRatio,
    };
  };
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
