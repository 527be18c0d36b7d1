/**
 * The process supervisor behind `deno task up`: starts services level by level
 * (dependencies first, each awaited until ready), restarts a child that dies
 * with exponential backoff, gives up (and says so through `failed`) when one
 * keeps dying, and stops everything in reverse start order.
 */

import { awaitReady, lastLines, type ManagedProcess, spawnManaged } from "../lib/process.ts";
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

export interface ServiceStatus {
  name: string;
  region: string;
  endpoint: string;
  pid: number | null;
  logPath: string;
  restarts: number;
}

interface Supervised {
  spec: ServiceSpec;
  proc: ManagedProcess | null;
  exitCode: number | null;
  everReady: boolean;
  restarts: number;
  recentRestarts: number[];
  timer?: ReturnType<typeof setTimeout>;
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
      };
    });
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
    if (!this.#started.includes(spec.name)) this.#started.push(spec.name);
    proc.exited.then((code) => this.#onExit(s, proc, code));

    await this.#awaitReady(s, proc);
    await spec.afterReady?.();
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
    // Before the first ready, start() reports the failure itself.
    if (this.#stopping || !s.everReady) return;
    this.#crashed(s, proc, code);
  }

  /** A ready service died: restart it after a backoff, or give up when it keeps dying. */
  #crashed(s: Supervised, proc: ManagedProcess, code: number): void {
    if (this.#stopping) return;
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
      this.#giveUp(error);
      return;
    }
    const delay = Math.min(
      policy.firstDelayMs * 2 ** s.recentRestarts.length,
      policy.maxDelayMs,
    );
    s.recentRestarts.push(now);
    s.restarts++;
    this.#options.report(`restarting ${name} in ${delay} ms (restart ${s.restarts})`);
    s.timer = setTimeout(() => {
      this.#launch(s, false).catch((error: Error) => {
        if (this.#stopping) return;
        this.#options.report(`restart of ${name} failed: ${error.message}`);
        // A child that runs but never became ready counts as another crash.
        const current = s.proc;
        if (current && s.exitCode === null) void current.kill();
      });
    }, delay);
  }
}
