/**
 * One test service (nats-server, redis-server, postgres...) on loopback: start
 * and await readiness, stop gracefully, kill (crash simulation), restart with
 * the same port and data. Temp directories it owns are removed by `stop()`, by
 * `await using`, and at process exit if a test forgot.
 */

import { freePort } from "../ports.ts";
import { awaitReady, type ManagedProcess, spawnManaged } from "../process.ts";
import type { CommandSpec } from "../../stack/supervisor/types.ts";

export interface ServiceDefinition {
  name: string;
  command: () => CommandSpec;
  ready: () => Promise<boolean>;
  /** Runs after the first readiness only (create a database...). */
  afterFirstReady?: () => Promise<void>;
  stopSignal: Deno.Signal;
  /** The command starts its own process group: `kill()` signals all of it. */
  processGroup?: boolean;
  logPath: string;
  /** Directories this harness created; removed on `stop()`. */
  ownedDirs: string[];
  readyTimeoutMs?: number;
}

export interface ServiceHandle {
  /** The current process id (changes on restart). */
  readonly pid: number;
  readonly logPath: string;
  /** Graceful stop, then removes the temp directories the harness created. */
  stop(): Promise<void>;
  /** SIGKILL (the whole process group where there is one); data stays for `restart()`. */
  kill(): Promise<void>;
  /** Graceful stop (when running) and start again on the same port with the same data. */
  restart(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Directories of services not stopped yet (their processes die with lib/process.ts). */
const owned = new Set<string[]>();

globalThis.addEventListener("unload", () => {
  for (const dirs of owned) {
    for (const dir of dirs) {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // already gone
      }
    }
  }
});

async function spawnReady(def: ServiceDefinition): Promise<ManagedProcess> {
  const proc = spawnManaged({
    name: def.name,
    ...def.command(),
    logPath: def.logPath,
    stopSignal: def.stopSignal,
    processGroup: def.processGroup,
  });
  try {
    await awaitReady(proc, { ready: () => def.ready(), timeoutMs: def.readyTimeoutMs ?? 30_000 });
  } catch (error) {
    await proc.kill();
    throw error;
  }
  return proc;
}

/** Starts the service and returns its handle; on failure removes the owned dirs and throws. */
export async function launchService(def: ServiceDefinition): Promise<ServiceHandle> {
  let proc: ManagedProcess;
  try {
    proc = await spawnReady(def);
    await def.afterFirstReady?.();
  } catch (error) {
    for (const dir of def.ownedDirs) await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw error;
  }
  let running = true;
  owned.add(def.ownedDirs);

  const stopProcess = async () => {
    if (!running) return;
    await proc.stop(10_000);
    running = false;
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stopProcess();
    owned.delete(def.ownedDirs);
    for (const dir of def.ownedDirs) await Deno.remove(dir, { recursive: true }).catch(() => {});
  };

  return {
    get pid() {
      return proc.pid;
    },
    logPath: def.logPath,
    stop,
    async kill() {
      if (!running) return;
      await proc.kill();
      running = false;
    },
    async restart() {
      if (stopped) throw new Error(`${def.name}: restart() after stop(); its data is gone`);
      await stopProcess();
      proc = await spawnReady(def);
      running = true;
    },
    [Symbol.asyncDispose]: stop,
  };
}

/**
 * Calls `start(port)` with a free port, trying fresh ports when another
 * process grabbed the chosen one first; `fixed` (a caller's choice) gets one try.
 */
export async function withPort<T>(
  fixed: number | undefined,
  start: (port: number) => Promise<T>,
): Promise<T> {
  if (fixed !== undefined) return await start(fixed);
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await start(freePort());
    } catch (error) {
      lastError = error;
      if (!/address already in use|could not bind|Address in use/i.test(String(error))) break;
    }
  }
  throw lastError;
}
