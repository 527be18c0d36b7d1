/**
 * Miner API entry point: `deno task miner-api` (HTTP on MINER_API_LISTEN,
 * default 0.0.0.0:8091). Configuration in README.md, the API in docs/miner-api.md.
 */

import postgres from "postgres";
import { denoEnv } from "../lib/config.ts";
import { createLogger } from "../lib/log.ts";
import { createApp } from "./app.ts";
import { loadMinerApiConfig } from "./config.ts";

async function main(): Promise<number> {
  let config;
  try {
    config = loadMinerApiConfig(denoEnv);
  } catch (error) {
    console.error((error as Error).message);
    return 2;
  }
  const logger = createLogger({
    component: "miner-api",
    region: "global",
    level: config.logLevel,
  });
  // Read-only: a few connections, every statement bounded.
  const sql = postgres(config.databaseUrl, {
    max: 4,
    idle_timeout: 60,
    connect_timeout: 10,
    onnotice: () => {},
    connection: {
      statement_timeout: config.queryTimeoutMs,
      default_transaction_read_only: true,
      application_name: "miner-api",
    },
  });
  const app = createApp({
    sql,
    network: config.network,
    cacheTtlSeconds: config.cacheTtlSeconds,
    cacheMaxEntries: config.cacheMaxEntries,
    logger,
  });
  const listen = `${config.listen.hostname}:${config.listen.port}`;
  let server: Deno.HttpServer;
  try {
    server = Deno.serve(
      { hostname: config.listen.hostname, port: config.listen.port, onListen: () => {} },
      app.fetch,
    );
  } catch (error) {
    logger.error("cannot listen", { listen, error: (error as Error).message });
    await sql.end({ timeout: 0 });
    return 1;
  }
  logger.info("miner api started", {
    listen,
    network: config.network,
    cache_ttl_s: config.cacheTtlSeconds,
    database: new URL(config.databaseUrl).host,
  });
  return await new Promise<number>((resolve) => {
    const stop = async () => {
      await server.shutdown();
      await sql.end({ timeout: 2 });
      logger.info("miner api stopped");
      resolve(0);
    };
    Deno.addSignalListener("SIGTERM", stop);
    Deno.addSignalListener("SIGINT", stop);
  });
}

if (import.meta.main) Deno.exit(await main());
