/**
 * The native SystemStack: runs stack/up.ts (the real supervisor and topology
 * of `deno task up`) as a child on free ports (TBG_STACK_PORT_BASE=0) in a temp
 * data dir, demo miners off, and steers it through its control socket. The
 * relays' failover_threshold and reconnect_interval are short, set through the
 * stack's config (TBG_FAILOVER_THRESHOLD, TBG_RELAY_RECONNECT_INTERVAL), so a
 * suite that stops the primary waits seconds, not the defaults.
 */

import { control } from "../../stack/control/client.ts";
import { controlSocketPath } from "../../stack/control/path.ts";
import { formatTable } from "../../stack/supervisor/table.ts";
import { REGIONS } from "../../stack/topology_regions.ts";
import { waitFor } from "../ports.ts";
import { engineBinary } from "./engine.ts";
import type {
  RegionEndpoints,
  RegionName,
  ServiceName,
  SystemEndpoints,
  SystemOptions,
  SystemStack,
} from "./system.ts";

const UP = new URL("../../stack/up.ts", import.meta.url).pathname;

/** Seconds, as the system suites want them (stack defaults: 3 and 5). */
const FAILOVER_THRESHOLD_S = 2;
const RECONNECT_INTERVAL_S = 1;

interface StackFile {
  services: Array<{ name: string; endpoint: string }>;
  ports: Record<string, number>;
}

function port(file: StackFile, key: string): number {
  const value = file.ports[key];
  if (value === undefined) throw new Error(`system: stack.json plans no port "${key}"`);
  return value;
}

function endpoints(stackDir: string, file: StackFile): SystemEndpoints {
  const relayConfig = JSON.parse(
    Deno.readTextFileSync(`${stackDir}/ckpool-us-east/ckpool.json`),
  ) as { primary: { failover_threshold: number; reconnect_interval: number } };
  const regions = {} as Record<RegionName, RegionEndpoints>;
  for (const region of REGIONS) {
    const key = (name: string) => port(file, `${region.name}.${name}`);
    regions[region.name] = {
      name: region.name,
      stratum: { hostname: "127.0.0.1", port: key("stratum") },
      stratumFromEu: region.role === "primary"
        ? { hostname: "127.0.0.1", port: key("stratum") }
        : { hostname: "127.0.0.1", port: key("bridge_stratum") },
      metricsUrl: `http://127.0.0.1:${key("metrics")}`,
      publisherMetricsUrl: `http://127.0.0.1:${key("publisher_metrics")}`,
      rpc: { url: `http://127.0.0.1:${key("bitcoin_rpc")}/`, user: "tbg", password: "tbg-regtest" },
      poolInstance: `ckpool-${region.name}`,
      latencyMs: region.latencyMs,
      jitterMs: region.jitterMs,
    };
  }
  const postgres = file.services.find((s) => s.name === "postgres");
  if (!postgres) throw new Error("system: stack.json lists no postgres");
  return {
    regions,
    postgresUrl: postgres.endpoint,
    redisUrl: `redis://127.0.0.1:${port(file, "redis")}`,
    collectorMetricsUrl: `http://127.0.0.1:${port(file, "collector_metrics")}`,
    failoverThresholdS: relayConfig.primary.failover_threshold,
    reconnectIntervalS: relayConfig.primary.reconnect_interval,
  };
}

/**
 * Starts a stack again, on new free ports, when `up` found one of its ports taken: on a
 * shared machine another process can bind a port between `up` choosing it and using it.
 */
const START_ATTEMPTS = 3;

class PortTakenError extends Error {}

export async function startNativeSystem(options: SystemOptions): Promise<SystemStack> {
  const bin = await engineBinary();
  for (let attempt = 1;; attempt++) {
    try {
      return await startOnce(bin, options);
    } catch (error) {
      if (!(error instanceof PortTakenError) || attempt === START_ATTEMPTS) throw error;
      console.error(`system: ${error.message.split("\n").at(-1)}; starting on new ports`);
    }
  }
}

async function startOnce(bin: string, options: SystemOptions): Promise<SystemStack> {
  const stackDir = await Deno.makeTempDir({ prefix: `tbg-system-${options.label}-` });
  await Deno.chmod(stackDir, 0o755); // PostgreSQL's OS user must enter it when we are root
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--unstable-net", UP],
    env: {
      TBG_STACK_DIR: stackDir,
      TBG_STACK_PORT_BASE: "0",
      TBG_DEMO_MINER: "0",
      TBG_FAILOVER_THRESHOLD: String(FAILOVER_THRESHOLD_S),
      TBG_RELAY_RECONNECT_INTERVAL: String(RECONNECT_INTERVAL_S),
      CKPOOL_BIN: bin,
      NO_COLOR: "1",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const decoder = new TextDecoder();
  const drain = (stream: ReadableStream<Uint8Array>) =>
    stream.pipeTo(new WritableStream({ write: (c) => void (output += decoder.decode(c)) }));
  const pipes = Promise.all([drain(child.stdout), drain(child.stderr)]).catch(() => {});
  let exited: number | null = null;
  const status = child.status.then((s) => (exited = s.code));
  const socket = controlSocketPath(stackDir);

  const close = async () => {
    try {
      child.kill("SIGTERM");
    } catch {
      // already gone
    }
    await status;
    await pipes;
    await Deno.remove(stackDir, { recursive: true }).catch(() => {});
  };
  try {
    const outcome = await waitFor(
      () => exited !== null ? "exited" : output.includes("stack is up") && "up",
      { timeoutMs: 240_000, intervalMs: 200, what: "deno task up to start every service" },
    );
    if (outcome === "exited") {
      const message = `up exited ${exited}:\n${output.trimEnd().slice(-4000)}`;
      throw output.includes("is already in use") ? new PortTakenError(message) : new Error(message);
    }
  } catch (error) {
    await close();
    throw error;
  }
  const file = JSON.parse(await Deno.readTextFile(`${stackDir}/stack.json`)) as StackFile;
  return {
    target: "native",
    endpoints: endpoints(stackDir, file),
    async stopService(name: ServiceName) {
      await control(socket, { command: "stop", name });
    },
    async startService(name: ServiceName) {
      await control(socket, { command: "start", name });
    },
    async describe() {
      return formatTable((await control(socket, { command: "status" })).services);
    },
    close,
  };
}
