/**
 * Region status from one round of checks (pure):
 * - healthy: the engine's /health says ok AND its Stratum port accepts TCP;
 * - degraded: the engine says degraded (e.g. a relay mining on its own node),
 *   or only one of the two checks passes;
 * - down: neither check passes.
 */

export type EngineState = "ok" | "degraded" | "down" | "unreachable";
export type RegionStatus = "healthy" | "degraded" | "down" | "unknown";

export interface Probe {
  engine: EngineState;
  /** The engine's reasons, or why it could not be read. */
  engineReasons: string[];
  stratumOpen: boolean;
  stratumError?: string;
}

export interface Verdict {
  status: RegionStatus;
  reason: string;
}

export function evaluate(probe: Probe): Verdict {
  const engineText = probe.engineReasons.length > 0
    ? `engine ${probe.engine}: ${probe.engineReasons.join("; ")}`
    : `engine ${probe.engine}`;
  const stratumText = probe.stratumOpen
    ? "stratum accepts connections"
    : `stratum closed${probe.stratumError ? ` (${probe.stratumError})` : ""}`;
  if (probe.engine === "ok" && probe.stratumOpen) {
    return { status: "healthy", reason: "engine ok, stratum accepts connections" };
  }
  if (probe.engine === "degraded") {
    return { status: "degraded", reason: `${engineText}; ${stratumText}` };
  }
  if (probe.engine === "ok" || probe.stratumOpen) {
    return { status: "degraded", reason: `${engineText}; ${stratumText}` };
  }
  return { status: "down", reason: `${engineText}; ${stratumText}` };
}

/** Overall status: healthy when all are, down when all are, degraded otherwise. */
export function overall(statuses: RegionStatus[]): RegionStatus {
  if (statuses.length === 0) return "unknown";
  if (statuses.every((s) => s === "healthy")) return "healthy";
  if (statuses.every((s) => s === "down")) return "down";
  if (statuses.every((s) => s === "unknown")) return "unknown";
  return "degraded";
}
