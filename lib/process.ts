/**
 * Child processes for the local stack and the tests: output captured to a log
 * file, stopped with a signal then SIGKILL, awaited until ready, and never
 * left behind.
 */

export interface ManagedProcess {
  readonly name: string;
  readonly pid: number;
  readonly logPath: string;
  /** Resolves with the exit code when the process ends (its output is in the log by then). */
  readonly exited: Promise<number>;
  /** The exit code once `exited` has resolved; null while running. */
  readonly exitCode: number | null;
  /** The stop signal (SIGTERM by default), then SIGKILL after `graceMs`; resolves when gone. */
  stop(graceMs?: number): Promise<number>;
  /** SIGKILL at once, to the whole process group where there is one (crash simulation). */
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
  /** What `stop()` sends first; defaults to SIGTERM. */
  stopSignal?: Deno.Signal;
  /** The command starts its own process group (under `setsid`): SIGKILL goes to all of it. */
  processGroup?: boolean;
}

const live = new Set<{ managed: ManagedProcess; killTarget: number }>();

/** Sends `sig` to `pid` (a negative pid: its process group), ignoring a process already gone. */
function send(pid: number, sig: Deno.Signal): void {
  try {
    Deno.kill(pid, sig);
  } catch {
    // already gone
  }
}

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
  const killTarget = options.processGroup ? -child.pid : child.pid;
  let exitCode: number | null = null;
  const exited = child.status.then(async (status) => {
    await Promise.all(pipes);
    logFile.close();
    live.delete(entry);
    exitCode = status.code;
    return status.code;
  });

  const managed: ManagedProcess = {
    name: options.name,
    pid: child.pid,
    logPath: options.logPath,
    exited,
    get exitCode() {
      return exitCode;
    },
    async stop(graceMs = 5_000) {
      send(child.pid, options.stopSignal ?? "SIGTERM");
      const timer = setTimeout(() => send(killTarget, "SIGKILL"), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    kill() {
      send(killTarget, "SIGKILL");
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
  const entry = { managed, killTarget };
  live.add(entry);
  return managed;
}

/** Stops every process this module started that is still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map(({ managed }) => managed.stop()));
}

globalThis.addEventListener("unload", () => {
  for (const { killTarget } of live) send(killTarget, "SIGKILL");
});

/** The last `lines` lines of `text`, for error messages. */
export function lastLines(text: string, lines = 20): string {
  return text.trimEnd().split("\n").slice(-lines).join("\n");
}

export interface ReadyWait {
  /** True once the process serves requests. */
  ready: () => Promise<boolean>;
  timeoutMs: number;
  intervalMs?: number;
  /** How much of the log an error quotes. */
  logLines?: number;
  /** Checked before every probe: a reason ends the wait with `<name>: not ready, <reason>`. */
  abandoned?: () => string | undefined;
}

/**
 * Polls `wait.ready` until it says yes. Throws, quoting the end of the log,
 * when the process exits first or `wait.timeoutMs` passes; the process is
 * left as it is (the caller stops it).
 */
export async function awaitReady(proc: ManagedProcess, wait: ReadyWait): Promise<void> {
  const deadline = Date.now() + wait.timeoutMs;
  const log = () => `log ${proc.logPath}:\n${lastLines(proc.log(), wait.logLines)}`;
  while (true) {
    if (proc.exitCode !== null) {
      throw new Error(
        `${proc.name} exited with code ${proc.exitCode} before it was ready; ${log()}`,
      );
    }
    const reason = wait.abandoned?.();
    if (reason !== undefined) throw new Error(`${proc.name}: not ready, ${reason}`);
    if (await wait.ready()) return;
    if (Date.now() > deadline) {
      throw new Error(`${proc.name} was not ready after ${wait.timeoutMs} ms; ${log()}`);
    }
    await new Promise((resolve) => setTimeout(resolve, wait.intervalMs ?? 25));
  }
}
