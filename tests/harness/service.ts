/**
 * One test service (nats-server, redis-server, postgres...) on loopback: start
 * and await readiness, stop gracefully, kill (crash simulation), restart with
 * the same port and data. Temp directories it owns are removed by `stop()`, by
 * `await using`, and at process exit if a test forgot.
 */

import { freePort } from "./ports.ts";
import { type ManagedProcess, spawnManaged } from "./process.ts";
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

const owned = new Set<{ pid: () => number; group: boolean; dirs: string[] }>();

globalThis.addEventListener("unload", () => {
  for (const entry of owned) {
    try {
      Deno.kill(entry.group ? -entry.pid() : entry.pid(), "SIGKILL");
    } catch {
      // already gone
    }
    for (const dir of entry.dirs) {
      try {
        Deno.removeSync(dir, { recursive: true });
      } catch {
        // already gone
      }
    }
  }
});

function tail(text: string): string {
  return text.trimEnd().split("\n").slice(-20).join("\n");
}

function send(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch {
    // already gone
  }
}

async function spawnReady(def: ServiceDefinition): Promise<ManagedProcess> {
  const command = def.command();
  const proc = spawnManaged({
    name: def.name,
    cmd: command.cmd,
    args: command.args,
    env: command.env,
    cwd: command.cwd,
    logPath: def.logPath,
  });
  let exitCode: number | null = null;
  proc.exited.then((code) => (exitCode = code));
  const timeoutMs = def.readyTimeoutMs ?? 30_000;
  const deadline = Date.now() + timeoutMs;
  while (!(await def.ready())) {
    if (exitCode !== null) {
      throw new Error(
        `${def.name} exited with code ${exitCode} before it was ready; log ${def.logPath}:\n` +
          tail(proc.log()),
      );
    }
    if (Date.now() > deadline) {
      send(def.processGroup ? -proc.pid : proc.pid, "SIGKILL");
      await proc.exited;
      throw new Error(
        `${def.name} was not ready after ${timeoutMs} ms; log ${def.logPath}:\n${tail(proc.log())}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
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
  const entry = { pid: () => proc.pid, group: def.processGroup ?? false, dirs: def.ownedDirs };
  owned.add(entry);

  const stopProcess = async () => {
    if (!running) return;
    send(proc.pid, def.stopSignal);
    const timer = setTimeout(
      () => send(def.processGroup ? -proc.pid : proc.pid, "SIGKILL"),
      10_000,
    );
    await proc.exited;
    clearTimeout(timer);
    running = false;
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stopProcess();
    owned.delete(entry);
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
      send(def.processGroup ? -proc.pid : proc.pid, "SIGKILL");
      await proc.exited;
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
