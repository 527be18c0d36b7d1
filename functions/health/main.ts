/**
 * Health monitor entry point: `deno task health` (HTTP on HEALTH_LISTEN,
 * default 0.0.0.0:8090). Configuration in README.md.
 */

import { denoEnv } from "../lib/config.ts";
import { createLogger } from "../lib/log.ts";
import { createApp } from "./app.ts";
import { loadHealthConfig } from "./config.ts";
import { Monitor } from "./monitor.ts";

async function main(): Promise<number> {
  let config;
  try {
    config = loadHealthConfig(denoEnv);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const logger = createLogger({ component: "health", region: "global", level: config.logLevel });
  const monitor = new Monitor({
    regions: config.regions,
    pollIntervalMs: config.pollIntervalMs,
    checkTimeoutMs: config.checkTimeoutMs,
    logger,
  });
  const app = createApp(monitor);
  let server: Deno.HttpServer;
  try {
    server = Deno.serve(
      { hostname: config.listen.hostname, port: config.listen.port, onListen: () => {} },
      app.fetch,
    );
  } catch (error) {
    logger.error("cannot listen", {
      listen: `${config.listen.hostname}:${config.listen.port}`,
      error: (error as Error).message,
    });
    return 1;
  }
  monitor.start();
  logger.info("health monitor started", {
    listen: `${config.listen.hostname}:${config.listen.port}`,
    regions: config.regions.map((r) => r.name),
    poll_interval_ms: config.pollIntervalMs,
  });
  return await new Promise<number>((resolve) => {
    const stop = async () => {
      await monitor.stop();
      await server.shutdown();
      resolve(0);
    };
    Deno.addSignalListener("SIGTERM", stop);
    Deno.addSignalListener("SIGINT", stop);
  });
}

if (import.meta.main) Deno.exit(await main());
