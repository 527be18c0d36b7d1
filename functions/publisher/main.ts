/**
 * Publisher entry point: `deno task publisher`. Configuration from the
 * environment (README.md). SIGTERM/SIGINT stop it cleanly; SIGKILL is safe too:
 * the spool resumes from the committed offset.
 */

import { denoEnv } from "../lib/config.ts";
import { createLogger } from "../lib/log.ts";
import { loadPublisherConfig } from "./config.ts";
import { startPublisher } from "./publisher.ts";

async function main(): Promise<number> {
  let config;
  try {
    config = loadPublisherConfig(denoEnv);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const logger = createLogger({
    component: "publisher",
    region: config.region,
    level: config.logLevel,
  });
  let publisher;
  try {
    publisher = await startPublisher(config, logger);
  } catch (error) {
    logger.error("publisher failed to start", { error: (error as Error).message });
    return 1;
  }
  logger.info("publisher started", {
    socket: config.socketPath,
    nats: config.natsUrl,
    metrics_port: publisher.metricsPort,
  });
  const stopped = new Promise<number>((resolve) => {
    const stop = () => publisher.stop().then(() => resolve(0), () => resolve(1));
    Deno.addSignalListener("SIGTERM", stop);
    Deno.addSignalListener("SIGINT", stop);
  });
  const failed = publisher.done.then(
    () => new Promise<number>(() => {}),
    (error) => {
      logger.error("publisher ingest failed", { error: (error as Error).message });
      return 1;
    },
  );
  return await Promise.race([stopped, failed]);
}

if (import.meta.main) Deno.exit(await main());
