/**
 * The process supervisor behind `deno task up`: starts services level by level
 * (dependencies first, each awaited until ready), restarts a child that dies
 * with exponential backoff, gives up (and says so through `failed`) when one
 * keeps dying, and stops everything in reverse start order. An operator can
 * stop, start and restart one service while the stack runs (stack/control/):
 * a service stopped that way stays down, never restarted, until started again.
 */

import { awaitReady, lastLines, type ManagedProcess, spawnManaged } from "../../lib/process.ts";
import { startLevels } from "./order.ts";
import { tcpOpen } from "./readiness.ts";
import type { ServiceSpec } from "./types.ts";

export interface RestartPolicy {
  /** Delay before the first restart; doubles with every restart inside the window. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** More restarts than this inside `windowMs` and the supervisor gives up. */
  maxRestarts: number;
  windowMs: number;
}

export const DEFAULT_RESTART_POLICY: RestartPolicy = {
  firstDelayMs: 500,
  maxDelayMs: 15_000,
  maxRestarts: 5,
  windowMs: 60_000,
};

export interface SupervisorOptions {
  /** Each service logs to `<logDir>/<name>.log`. */
  logDir: string;
  restart?: RestartPolicy;
  /** Receives progress and incident lines. */
  report?: (line: string) => void;
  /** How long a stop signal may take before SIGKILL. */
  stopGraceMs?: number;
}

/**
 * Where a service is in its life: `starting` (spawned, not yet ready),
 * `running`, `backoff` (died, restart pending), `stopped` (by the operator or
 * the stack), `failed` (kept dying, or a restart never became ready).
 */
export type ServiceState = "starting" | "running" | "backoff" | "stopped" | "failed";

export interface ServiceStatus {
  name: string;
  region: string;
  endpoint: string;
  pid: number | null;
  logPath: string;
  restarts: number;
  state: ServiceState;
  /** Since the running process became ready, ms; null unless running. */
  uptimeMs: number | null;
  /** Stopped by the operator: the supervisor leaves it down until started. */
  operatorStopped: boolean;
}

interface Supervised {
  spec: ServiceSpec;
  proc: ManagedProcess | null;
  exitCode: number | null;
  everReady: boolean;
  restarts: number;
  recentRestarts: number[];
  timer?: ReturnType<typeof setTimeout>;
  state: ServiceState;
  readyAt: number | null;
  operatorStopped: boolean;
  /** The operator's stop/start/restart in flight; one at a time per service. */
  busy: boolean;
}

export class Supervisor {
  readonly #levels: ServiceSpec[][];
  readonly #options: Required<SupervisorOptions>;
  readonly #state = new Map<string, Supervised>();
  /** Names in the order their first start began. */
  readonly #started: string[] = [];
  #stopping: Promise<void> | null = null;
  #giveUp!: (error: Error) => void;
  /** Resolves when a service keeps dying and the supervisor gives up on it. */
  readonly failed: Promise<Error> = new Promise((resolve) => (this.#giveUp = resolve));

  constructor(services: readonly ServiceSpec[], options: SupervisorOptions) {
    this.#levels = startLevels(services);
    this.#options = {
      restart: DEFAULT_RESTART_POLICY,
      report: () => {},
      stopGraceMs: 10_000,
      ...options,
    };
    for (const spec of services) {
      this.#state.set(spec.name, {
        spec,
        proc: null,
        exitCode: null,
        everReady: false,
        restarts: 0,
        recentRestarts: [],
        state: "stopped",
        readyAt: null,
        operatorStopped: false,
        busy: false,
      });
    }
  }

  /** Starts every service; on any failure stops what started and rethrows. */
  async start(): Promise<void> {
    try {
      for (const level of this.#levels) {
        const results = await Promise.allSettled(
          level.map((spec) => this.#launch(this.#state.get(spec.name)!, true)),
        );
        const failure = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
        if (failure) throw failure.reason;
      }
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** What runs where, in start order. */
  status(): ServiceStatus[] {
    return this.#started.map((name) => {
      const s = this.#state.get(name)!;
      return {
        name,
        region: s.spec.region,
        endpoint: s.spec.endpoint,
        pid: s.proc && s.exitCode === null ? s.proc.pid : null,
        logPath: this.#logPath(name),
        restarts: s.restarts,
        state: s.state,
        uptimeMs: s.state === "running" && s.readyAt !== null ? Date.now() - s.readyAt : null,
        operatorStopped: s.operatorStopped,
      };
    });
  }

  /** Every service name, in declaration order. */
  names(): string[] {
    return [...this.#state.keys()];
  }

  /**
   * The operator's stop: stops `name` and keeps it down (no restart) until
   * `startService`. Throws naming the service when it is unknown or already stopped.
   */
  async stopService(name: string): Promise<ServiceStatus> {
    const s = this.#service(name);
    return await this.#exclusive(s, async () => {
      if (s.operatorStopped || s.state === "stopped") {
        throw new Error(`${name} is already stopped`);
      }
      s.operatorStopped = true;
      clearTimeout(s.timer);
      await this.#halt(s, "operator stop");
      return this.#statusOf(name);
    });
  }

  /**
   * Starts a service the operator stopped (or one that failed), awaiting its
   * readiness. Throws when it is unknown or already running.
   */
  async startService(name: string): Promise<ServiceStatus> {
    const s = this.#service(name);
    return await this.#exclusive(s, async () => {
      if (s.state === "running" || s.state === "starting" || s.state === "backoff") {
        throw new Error(`${name} is already ${s.state} (pid ${s.proc?.pid ?? "-"})`);
      }
      s.operatorStopped = false;
      s.recentRestarts = [];
      this.#options.report(`operator start ${name}`);
      await this.#operatorLaunch(s);
      return this.#statusOf(name);
    });
  }

  /** Stops (when running) and starts `name` again; a restart the operator asked for. */
  async restartService(name: string): Promise<ServiceStatus> {
    const s = this.#service(name);
    return await this.#exclusive(s, async () => {
      clearTimeout(s.timer);
      s.operatorStopped = true; // no automatic restart while we stop it
      await this.#halt(s, "operator restart");
      s.operatorStopped = false;
      s.recentRestarts = [];
      s.restarts++;
      await this.#operatorLaunch(s);
      return this.#statusOf(name);
    });
  }

  /** Launches for the operator; a start that fails leaves the service down as `failed`. */
  async #operatorLaunch(s: Supervised): Promise<void> {
    try {
      await this.#launch(s, !s.everReady);
    } catch (error) {
      s.operatorStopped = true;
      await this.#halt(s, "failed start");
      s.state = "failed";
      throw error;
    }
  }

  #service(name: string): Supervised {
    const s = this.#state.get(name);
    if (!s) {
      throw new Error(`no service named "${name}" (known: ${this.names().join(", ")})`);
    }
    return s;
  }

  #statusOf(name: string): ServiceStatus {
    return this.status().find((row) => row.name === name)!;
  }

  async #exclusive<T>(s: Supervised, fn: () => Promise<T>): Promise<T> {
    if (this.#stopping) throw new Error(`${s.spec.name}: the stack is stopping`);
    if (s.busy) throw new Error(`${s.spec.name}: another stop/start of it is in progress`);
    s.busy = true;
    try {
      return await fn();
    } finally {
      s.busy = false;
    }
  }

  /** Stops the running process of `s`, if any, and marks it stopped. */
  async #halt(s: Supervised, why: string): Promise<void> {
    const proc = s.proc;
    if (proc && s.exitCode === null) {
      this.#options.report(`${why}: stopping ${s.spec.name}`);
      const code = await proc.stop(this.#options.stopGraceMs);
      this.#options.report(`${why}: stopped ${s.spec.name} (exit ${code})`);
    }
    s.state = "stopped";
    s.readyAt = null;
  }

  /** Stops every service in reverse start order; safe to call more than once. */
  stop(): Promise<void> {
    this.#stopping ??= this.#stopAll();
    return this.#stopping;
  }

  async #stopAll(): Promise<void> {
    for (const s of this.#state.values()) clearTimeout(s.timer);
    for (const name of [...this.#started].reverse()) {
      const s = this.#state.get(name)!;
      if (!s.proc || s.exitCode !== null) continue;
      this.#options.report(`stopping ${name}`);
      const code = await s.proc.stop(this.#options.stopGraceMs);
      s.state = "stopped";
      this.#options.report(`stopped ${name} (exit ${code})`);
    }
  }

  #logPath(name: string): string {
    return `${this.#options.logDir}/${name}.log`;
  }

  async #launch(s: Supervised, first: boolean): Promise<void> {
    const { spec } = s;
    if (this.#stopping) throw new Error(`${spec.name}: not started, the stack is stopping`);
    if (first) {
      this.#options.report(`starting ${spec.name} (${spec.region})`);
      await this.#checkPortsFree(spec);
      await spec.prepare?.();
      if (this.#stopping) throw new Error(`${spec.name}: not started, the stack is stopping`);
    }
    const command = spec.command();
    const began = Date.now();
    const proc = spawnManaged({
      name: spec.name,
      ...command,
      logPath: this.#logPath(spec.name),
      stopSignal: spec.stopSignal,
      processGroup: spec.processGroup,
    });
    s.proc = proc;
    s.exitCode = null;
    s.state = "starting";
    s.readyAt = null;
    if (!this.#started.includes(spec.name)) this.#started.push(spec.name);
    proc.exited.then((code) => this.#onExit(s, proc, code));

    await this.#awaitReady(s, proc);
    await spec.afterReady?.();
    if (s.proc === proc && s.exitCode === null) {
      s.state = "running";
      s.readyAt = Date.now();
    }
    const seconds = ((Date.now() - began) / 1000).toFixed(1);
    this.#options.report(`ready ${spec.name} (${spec.region}) pid ${proc.pid} in ${seconds}s`);
    const firstReady = !s.everReady;
    s.everReady = true;
    // Died between the readiness probe and now: on a first start #onExit ignored it.
    if (firstReady && s.exitCode !== null && s.proc === proc) this.#crashed(s, proc, s.exitCode);
  }

  /** Refuses to start a service whose port another program already serves. */
  async #checkPortsFree(spec: ServiceSpec): Promise<void> {
    for (const port of spec.ports ?? []) {
      if (await tcpOpen(port)) {
        throw new Error(
          `${spec.name}: port ${port} on 127.0.0.1 is already in use (another stack running? ` +
            `see TBG_STACK_PORT_BASE in docs/operations.md)`,
        );
      }
    }
  }

  #awaitReady(s: Supervised, proc: ManagedProcess): Promise<void> {
    return awaitReady(proc, {
      ready: () => s.spec.ready(),
      timeoutMs: s.spec.readyTimeoutMs ?? 30_000,
      intervalMs: 50,
      logLines: 15,
      abandoned: () => this.#stopping ? "the stack is stopping" : undefined,
    });
  }

  #onExit(s: Supervised, proc: ManagedProcess, code: number): void {
    if (s.proc !== proc) return;
    s.exitCode = code;
    s.readyAt = null;
    if (s.state !== "failed") s.state = "stopped";
    // Before the first ready, start() reports the failure itself; an operator's
    // stop means "stay down".
    if (this.#stopping || !s.everReady || s.operatorStopped) return;
    this.#crashed(s, proc, code);
  }

  /** A ready service died: restart it after a backoff, or give up when it keeps dying. */
  #crashed(s: Supervised, proc: ManagedProcess, code: number): void {
    if (this.#stopping || s.operatorStopped) return;
    const { name } = s.spec;
    const policy = this.#options.restart;
    const now = Date.now();
    s.recentRestarts = s.recentRestarts.filter((t) => now - t < policy.windowMs);
    this.#options.report(
      `${name} (pid ${proc.pid}) exited unexpectedly with code ${code}; ` +
        `last log lines:\n${lastLines(proc.log(), 5)}`,
    );
    if (s.recentRestarts.length >= policy.maxRestarts) {
      const error = new Error(
        `${name} exited ${s.recentRestarts.length + 1} times within ` +
          `${policy.windowMs / 1000}s; giving up (log ${proc.logPath})`,
      );
      this.#options.report(error.message);
      s.state = "failed";
      this.#giveUp(error);
      return;
    }
    const delay = Math.min(
      policy.firstDelayMs * 2 ** s.recentRestarts.length,
      policy.maxDelayMs,
    );
    s.recentRestarts.push(now);
    s.restarts++;
    s.state = "backoff";
    this.#options.report(`restarting ${name} in ${delay} ms (restart ${s.restarts})`);
    s.timer = setTimeout(() => {
      if (this.#stopping || s.operatorStopped) return;
      this.#launch(s, false).catch((error: Error) => {
        if (this.#stopping || s.operatorStopped) return;
        this.#options.report(`restart of ${name} failed: ${error.message}`);
        // A child that runs but never became ready counts as another crash.
        const current = s.proc;
        if (current && s.exitCode === null) void current.kill();
      });
    }, delay);
  }
}
