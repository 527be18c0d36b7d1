/**
 * The monitor: polls every region each interval, keeps each region's status
 * and since-when, logs transitions (region, from, to, reason) and exports
 * metrics.
 */

import type { Logger } from "../lib/log.ts";
import { Registry } from "../lib/metrics.ts";
import type { RegionTarget } from "./config.ts";
import { evaluate, overall, type RegionStatus } from "./evaluate.ts";
import { type EngineFigures, probeRegion, type RegionProbe } from "./probe.ts";

export interface RegionState {
  name: string;
  status: RegionStatus;
  reason: string;
  /** When the current status began (ISO). */
  since: string;
  lastCheck: string | null;
  engine: RegionProbe["engine"] | null;
  stratumOpen: boolean | null;
  figures: EngineFigures;
}

export type Prober = (target: RegionTarget, timeoutMs: number) => Promise<RegionProbe>;

export interface MonitorOptions {
  regions: RegionTarget[];
  pollIntervalMs: number;
  checkTimeoutMs: number;
  logger: Logger;
  prober?: Prober;
}

const STATUSES: RegionStatus[] = ["healthy", "degraded", "down", "unknown"];

export class Monitor {
  readonly registry = new Registry();
  #states = new Map<string, RegionState>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;
  #round: Promise<void> | undefined;
  #transitions;
  #polls;

  constructor(private readonly options: MonitorOptions) {
    const now = new Date().toISOString();
    for (const r of options.regions) {
      this.#states.set(r.name, {
        name: r.name,
        status: "unknown",
        reason: "not checked yet",
        since: now,
        lastCheck: null,
        engine: null,
        stratumOpen: null,
        figures: {},
      });
    }
    this.#transitions = this.registry.counter(
      "health_region_transitions_total",
      "Status changes per region",
    );
    this.#polls = this.registry.counter("health_polls_total", "Polling rounds completed");
    const perRegion = (value: (s: RegionState) => number | undefined) => () =>
      [...this.#states.values()].flatMap((s) => {
        const v = value(s);
        return v === undefined ? [] : [{ labels: { region: s.name }, value: v }];
      });
    this.registry.gaugeFn(
      "health_region_status",
      "1 for the region's current status",
      () =>
        [...this.#states.values()].flatMap((s) =>
          STATUSES.map((status) => ({
            labels: { region: s.name, status },
            value: s.status === status ? 1 : 0,
          }))
        ),
    );
    this.registry.gaugeFn(
      "health_region_up",
      "1 when healthy or degraded",
      perRegion((s) => s.status === "healthy" || s.status === "degraded" ? 1 : 0),
    );
    this.registry.gaugeFn(
      "health_region_template_height",
      "Engine template height",
      perRegion((s) => s.figures.templateHeight),
    );
    this.registry.gaugeFn(
      "health_region_template_age_seconds",
      "Engine template age",
      perRegion((s) => s.figures.templateAgeSeconds),
    );
    this.registry.gaugeFn(
      "health_region_miners_connected",
      "Miners connected to the engine",
      perRegion((s) => s.figures.miners),
    );
  }

  regions(): RegionState[] {
    return [...this.#states.values()];
  }

  region(name: string): RegionState | undefined {
    return this.#states.get(name);
  }

  overall(): RegionStatus {
    return overall(this.regions().map((s) => s.status));
  }

  /** Polls all regions once (concurrently) and applies the results. */
  async pollOnce(): Promise<void> {
    const prober = this.options.prober ?? probeRegion;
    await Promise.all(this.options.regions.map(async (target) => {
      const probe = await prober(target, this.options.checkTimeoutMs);
      this.#apply(target.name, probe);
    }));
    this.#polls.inc();
  }

  #apply(name: string, probe: RegionProbe): void {
    const state = this.#states.get(name)!;
    const verdict = evaluate(probe);
    const now = new Date().toISOString();
    if (verdict.status !== state.status) {
      this.options.logger
        [verdict.status === "down" ? "error" : verdict.status === "healthy" ? "info" : "warn"](
          "region status changed",
          { region: name, from: state.status, to: verdict.status, reason: verdict.reason },
        );
      this.#transitions.inc(1, { region: name });
      state.status = verdict.status;
      state.since = now;
    }
    state.reason = verdict.reason;
    state.lastCheck = now;
    state.engine = probe.engine;
    state.stratumOpen = probe.stratumOpen;
    state.figures = probe.figures;
  }

  /** Polls now and then every interval until stop(). */
  start(): void {
    const loop = () => {
      if (this.#stopped) return;
      const started = Date.now();
      this.#round = this.pollOnce().catch((error) =>
        this.options.logger.error("poll failed", { error: (error as Error).message })
      ).finally(() => {
        if (this.#stopped) return;
        const wait = Math.max(0, this.options.pollIntervalMs - (Date.now() - started));
        this.#timer = setTimeout(loop, wait);
      });
    };
    loop();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    await this.#round;
  }
}
