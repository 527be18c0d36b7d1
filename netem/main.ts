/**
 * `deno task netem -- --listen HOST:PORT --target HOST:PORT --delay MS --jitter MS`:
 * runs the userspace latency bridge until SIGINT or SIGTERM.
 * Settings: netem/config.ts. Logs: JSON lines on stdout.
 */

import { loadProxyConfig, NetemConfigError } from "./config.ts";
import { bridgeLogger } from "./log.ts";
import { startProxy } from "./proxy.ts";

async function main(): Promise<number> {
  let config;
  try {
    config = loadProxyConfig(Deno.args, (name) => Deno.env.get(name));
  } catch (error) {
    if (error instanceof NetemConfigError) {
      console.error(error.message);
      return 2;
    }
    throw error;
  }
  const log = bridgeLogger({
    component: config.name,
    region: config.region,
    level: config.logLevel,
  });
  const proxy = startProxy(config, log);
  const { promise: stopped, resolve } = Promise.withResolvers<string>();
  for (const sig of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(sig, () => resolve(sig));
  const signal = await stopped;
  const stats = proxy.stats();
  await proxy.close();
  log.info("bridge stopped", { signal, ...stats });
  return 0;
}

if (import.meta.main) Deno.exit(await main());
