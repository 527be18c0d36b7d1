/**
 * Collector entry point: `deno task collector [--source nats] [--source socket:<path>]`.
 * Configuration from the environment (README.md); `--source` overrides COLLECTOR_SOURCE.
 */

import { denoEnv } from "../lib/config.ts";
import { createLogger } from "../lib/log.ts";
import { startCollector } from "./collector.ts";
import { loadCollectorConfig } from "./config.ts";

async function main(): Promise<number> {
  let config;
  try {
    config = loadCollectorConfig(denoEnv, Deno.args);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const logger = createLogger({ component: "collector", region: "global", level: config.logLevel });
  let collector;
  try {
    collector = await startCollector(config, logger);
  } catch (error) {
    logger.error("collector failed to start", { error: (error as Error).message });
    return 1;
  }
  logger.info("collector started", {
    sources: config.sources.map((s) => s.kind === "nats" ? "nats" : `socket:${s.path}`),
    metrics_port: collector.metricsPort,
  });
  return await new Promise<number>((resolve) => {
    const stop = () => collector.stop().then(() => resolve(0), () => resolve(1));
    Deno.addSignalListener("SIGTERM", stop);
    Deno.addSignalListener("SIGINT", stop);
  });
}

if (import.meta.main) Deno.exit(await main());
