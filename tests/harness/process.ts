/**
 * Child processes for tests and the local stack: output captured to a log
 * file, stopped with SIGTERM then SIGKILL, and never left behind.
 */

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** Resolves with the exit code when the process ends. */
  readonly exited: Promise<number>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<number>;
  /** SIGKILL at once (crash simulation). */
  kill(): Promise<number>;
  /** The log so far, for error messages. */
  log(): string;
}

export interface SpawnOptions {
  name: string;
  cmd: string;
  args: string[];
  logPath: string;
  cwd?: string;
  env?: Record<string, string>;
}

const live = new Set<ManagedProcess>();

/** Starts `cmd` with stdout and stderr appended to `logPath`. */
export function spawnManaged(options: SpawnOptions): ManagedProcess {
  const logFile = Deno.openSync(options.logPath, { create: true, append: true });
  const child = new Deno.Command(options.cmd, {
    args: options.args,
    cwd: options.cwd,
    env: options.env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const pipes = [child.stdout, child.stderr].map((stream) =>
    stream.pipeTo(
      new WritableStream({ write: (chunk) => void logFile.writeSync(chunk) }),
    ).catch(() => {})
  );
  const exited = child.status.then(async (status) => {
    await Promise.all(pipes);
    logFile.close();
    live.delete(managed);
    return status.code;
  });

  const signal = (sig: Deno.Signal) => {
    try {
      child.kill(sig);
    } catch {
      // already gone
    }
  };

  const managed: ManagedProcess = {
    name: options.name,
    pid: child.pid,
    logPath: options.logPath,
    exited,
    async stop(graceMs = 5_000) {
      signal("SIGTERM");
      const timer = setTimeout(() => signal("SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    kill() {
      signal("SIGKILL");
      return exited;
    },
    log() {
      try {
        return Deno.readTextFileSync(options.logPath);
      } catch {
        return "";
      }
    },
  };
  live.add(managed);
  return managed;
}

/** Stops every process this module started that is still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((p) => p.stop()));
}

globalThis.addEventListener("unload", () => {
  for (const p of live) {
    try {
      Deno.kill(p.pid, "SIGKILL");
    } catch {
      // already gone
    }
  }
});
