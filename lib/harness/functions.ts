/**
 * Runs the functions as real subprocesses with the same permission shape as
 * their deno.json tasks (narrowed to the test's ports and temp dirs).
 */

import { type ManagedProcess, spawnManaged } from "../process.ts";
import { waitFor } from "../ports.ts";
import { PUBLISHER_ENV_VARS } from "../../functions/publisher/config.ts";
import { HEALTH_ENV_VARS } from "../../functions/health/config.ts";

export const ROOT = new URL("../../", import.meta.url).pathname;

function hostPort(url: string): string {
  const u = new URL(url);
  return `${u.hostname}:${u.port}`;
}

/** `--cpu-prof` flags when env FUNCTIONS_CPU_PROF names a directory (for the bench). */
function profileFlags(name: string): string[] {
  const dir = Deno.env.get("FUNCTIONS_CPU_PROF");
  return dir ? ["--cpu-prof", `--cpu-prof-dir=${dir}`, `--cpu-prof-name=${name}.cpuprofile`] : [];
}

export interface PublisherRun {
  region: string;
  natsUrl: string;
  dir: string;
  metricsPort: number;
  env?: Record<string, string>;
}

export function publisherPaths(dir: string) {
  return {
    socket: `${dir}/engine.sock`,
    spool: `${dir}/spool`,
    deadLetter: `${dir}/deadletter.jsonl`,
  };
}

export function spawnPublisher(run: PublisherRun, logPath: string): ManagedProcess {
  const paths = publisherPaths(run.dir);
  return spawnManaged({
    name: `publisher-${run.region}`,
    cmd: Deno.execPath(),
    cwd: ROOT,
    args: [
      "run",
      "--unstable-net",
      ...profileFlags("publisher"),
      `--allow-net=${hostPort(run.natsUrl)},127.0.0.1:${run.metricsPort},unix:${paths.socket}`,
      `--allow-read=${run.dir}`,
      `--allow-write=${run.dir}`,
      `--allow-env=${PUBLISHER_ENV_VARS.join(",")}`,
      "functions/publisher/main.ts",
    ],
    env: {
      REGION: run.region,
      NATS_URL: run.natsUrl,
      PUBLISHER_SOCKET: paths.socket,
      PUBLISHER_SPOOL_DIR: paths.spool,
      PUBLISHER_DEADLETTER: paths.deadLetter,
      PUBLISHER_METRICS_LISTEN: `127.0.0.1:${run.metricsPort}`,
      ...run.env,
    },
    logPath,
  });
}

export interface CollectorRun {
  natsUrl: string;
  databaseUrl: string;
  redisUrl: string;
  metricsPort: number;
  sources?: string[];
  socketDir?: string;
  env?: Record<string, string>;
}

export function spawnCollector(run: CollectorRun, logPath: string): ManagedProcess {
  const pg = new URL(run.databaseUrl);
  const socketDirs = run.socketDir ? [run.socketDir] : [];
  const unixSockets = (run.sources ?? []).filter((s) => s.startsWith("socket:"))
    .map((s) => `,unix:${s.slice("socket:".length)}`).join("");
  return spawnManaged({
    name: "collector",
    cmd: Deno.execPath(),
    cwd: ROOT,
    args: [
      "run",
      "--unstable-net",
      ...profileFlags("collector"),
      `--allow-net=${hostPort(run.natsUrl)},${pg.hostname}:${pg.port},${
        hostPort(run.redisUrl)
      },127.0.0.1:${run.metricsPort}${unixSockets}`,
      `--allow-read=functions/collector/migrations${socketDirs.map((d) => `,${d}`).join("")}`,
      ...(socketDirs.length > 0 ? [`--allow-write=${socketDirs.join(",")}`] : []),
      // ioredis's `debug` dependency enumerates process.env: a variable list is not enough.
      "--allow-env",
      "functions/collector/main.ts",
      ...(run.sources ?? ["nats"]).flatMap((s) => ["--source", s]),
    ],
    env: {
      NATS_URL: run.natsUrl,
      DATABASE_URL: run.databaseUrl,
      REDIS_URL: run.redisUrl,
      COLLECTOR_METRICS_LISTEN: `127.0.0.1:${run.metricsPort}`,
      ...run.env,
    },
    logPath,
  });
}

export function spawnHealth(
  env: Record<string, string>,
  port: number,
  logPath: string,
): ManagedProcess {
  return spawnManaged({
    name: "health",
    cmd: Deno.execPath(),
    cwd: ROOT,
    args: [
      "run",
      "--allow-net",
      `--allow-env=${HEALTH_ENV_VARS.join(",")}`,
      "functions/health/main.ts",
    ],
    env: { ...env, HEALTH_LISTEN: `127.0.0.1:${port}` },
    logPath,
  });
}

/** Reads a metric from a function's /metrics (undefined when unreachable or absent). */
export async function metric(port: number, name: string): Promise<number | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    const text = await res.text();
    const line = text.split("\n").find((l) => l.startsWith(`${name} `) || l.startsWith(`${name}{`));
    return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(" ") + 1));
  } catch {
    return undefined;
  }
}

/** Waits until the process answers on its /health. */
export async function waitHealthy(port: number, proc: ManagedProcess, timeoutMs = 30_000) {
  let exited = false;
  const gone = proc.exited.then((code) => {
    exited = true;
    throw new Error(`${proc.name} exited with ${code}; log:\n${proc.log().slice(-3000)}`);
  });
  await Promise.race([
    gone,
    waitFor(async () => {
      if (exited) return true;
      const res = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
      await res?.body?.cancel();
      return res !== undefined;
    }, { timeoutMs, what: `${proc.name} /health`, intervalMs: 50 }),
  ]);
  gone.catch(() => {});
}
