/**
 * The faults, one at a time: SIGKILL of a service (the supervisor restarts
 * it), the operator's restart of a store, and a partition of a relay region
 * (its latency bridge is stopped with SIGSTOP, so every connection through
 * it stays open but nothing is forwarded, then SIGCONT). Each fault returns
 * when it is over (the kill sent, the restart done, the partition healed).
 */

import { metric } from "../../lib/harness/metrics.ts";
import type { ChaosStack } from "./stack.ts";

export interface FaultContext {
  stack: ChaosStack;
  partitionSeconds: number;
}

export interface FaultOutcome {
  /** Engine kills: seqs the engine had numbered when it was killed (emitted + dropped + queued, scraped just before). */
  engineNumbered?: number;
  /** Engine kills: events still in its ring just before the kill. */
  ringAtKill?: number;
}

export interface Fault {
  name: string;
  /** The service whose boot the fault ends, for engine kills. */
  engine?: string;
  run(ctx: FaultContext): Promise<FaultOutcome>;
}

function sigkill(service: string): Fault {
  return {
    name: `SIGKILL ${service}`,
    async run({ stack }) {
      Deno.kill(await stack.pid(service), "SIGKILL");
      return {};
    },
  };
}

function engineKill(region: string): Fault {
  const service = `ckpool-${region}`;
  return {
    name: `SIGKILL ${service}`,
    engine: service,
    async run({ stack }) {
      const url = stack.system.endpoints.regions[region as "eu"].metricsUrl;
      const pid = await stack.pid(service);
      const [emitted, dropped, queued] = await Promise.all([
        metric(url, "ckpool_events_emitted_total"),
        metric(url, "ckpool_events_dropped_total"),
        metric(url, "ckpool_events_queued"),
      ]);
      Deno.kill(pid, "SIGKILL");
      return {
        engineNumbered: (emitted ?? 0) + (dropped ?? 0) + (queued ?? 0),
        ringAtKill: queued ?? 0,
      };
    },
  };
}

function restart(service: string): Fault {
  return {
    name: `restart ${service}`,
    async run({ stack }) {
      await stack.restart(service);
      return {};
    },
  };
}

function partition(region: string): Fault {
  return {
    name: `partition ${region}`,
    async run({ stack, partitionSeconds }) {
      const pid = await stack.pid(`bridge-${region}`);
      Deno.kill(pid, "SIGSTOP");
      try {
        await new Promise((r) => setTimeout(r, partitionSeconds * 1000));
      } finally {
        Deno.kill(pid, "SIGCONT");
      }
      return {};
    },
  };
}

export const FAULTS: readonly Fault[] = [
  engineKill("eu"),
  engineKill("us-east"),
  engineKill("asia"),
  sigkill("publisher-eu"),
  sigkill("publisher-us-east"),
  sigkill("publisher-asia"),
  sigkill("nats"),
  sigkill("collector"),
  restart("postgres"),
  restart("redis"),
  partition("us-east"),
  partition("asia"),
];

/** `--only` names (comma separated, matched as substrings of the fault name). */
export function selectFaults(only: string | undefined): Fault[] {
  if (!only) return [...FAULTS];
  const wanted = only.split(",").map((s) => s.trim()).filter(Boolean);
  const chosen = FAULTS.filter((f) => wanted.some((w) => f.name.includes(w)));
  if (chosen.length === 0) {
    throw new Error(
      `chaos: --only "${only}" matches no fault (faults: ${FAULTS.map((f) => f.name).join(", ")})`,
    );
  }
  return chosen;
}

/** Every engine's `ckpool_events_dropped_total` (null when its /metrics does not answer). */
export async function engineDrops(stack: ChaosStack): Promise<Map<string, number | null>> {
  const regions = Object.values(stack.system.endpoints.regions);
  const values = await Promise.all(
    regions.map((r) => metric(r.metricsUrl, "ckpool_events_dropped_total").catch(() => null)),
  );
  return new Map(regions.map((r, i) => [r.name, values[i]]));
}

/**
 * Drops the engines counted between two scrapes; an engine whose counter went
 * down was restarted, and its new boot's count is what it dropped since.
 */
export function dropsBetween(
  before: Map<string, number | null>,
  after: Map<string, number | null>,
): number {
  let total = 0;
  for (const [region, value] of after) {
    if (value === null) continue;
    const was = before.get(region) ?? null;
    total += was === null || value < was ? value : value - was;
  }
  return total;
}
