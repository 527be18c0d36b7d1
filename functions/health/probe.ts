/**
 * One round of checks against a region: the engine's /health (JSON status),
 * its Stratum port (a TCP connect), and its /metrics (template height and
 * age, miners connected). Every check is bounded by the timeout.
 */

import { parsePrometheus, sampleValue } from "../lib/metrics.ts";
import type { RegionTarget } from "./config.ts";
import type { EngineState, Probe } from "./evaluate.ts";

/** Engine metric names the monitor reads (the engine exports them). */
export const ENGINE_METRICS = {
  templateHeight: "ckpool_template_height",
  templateAge: "ckpool_template_age_seconds",
  miners: "ckpool_miners_connected",
} as const;

export interface EngineFigures {
  templateHeight?: number;
  templateAgeSeconds?: number;
  miners?: number;
}

export interface RegionProbe extends Probe {
  figures: EngineFigures;
}

function messageOf(error: unknown): string {
  if (error instanceof DOMException && error.name === "TimeoutError") return "timeout";
  return error instanceof Error ? error.message : String(error);
}

export async function checkEngineHealth(
  url: string,
  timeoutMs: number,
): Promise<{ engine: EngineState; reasons: string[] }> {
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    return { engine: "unreachable", reasons: [`health unreachable: ${messageOf(error)}`] };
  }
  let body: unknown;
  try {
    body = await res.json();
  } catch {
    return { engine: res.status === 200 ? "degraded" : "down", reasons: ["health is not JSON"] };
  }
  const status = (body as { status?: unknown })?.status;
  const reasons = Array.isArray((body as { reasons?: unknown })?.reasons)
    ? (body as { reasons: unknown[] }).reasons.map(String)
    : [];
  if (status === "ok" && res.status === 200) return { engine: "ok", reasons };
  if (status === "degraded") return { engine: "degraded", reasons };
  if (status === "down" || res.status >= 500) return { engine: "down", reasons };
  return {
    engine: "degraded",
    reasons: [`unexpected health status '${String(status)}'`, ...reasons],
  };
}

export async function checkTcp(
  hostname: string,
  port: number,
  timeoutMs: number,
): Promise<{ open: boolean; error?: string }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const attempt = Deno.connect({ hostname, port });
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), timeoutMs);
  });
  try {
    const result = await Promise.race([attempt, timeout]);
    if (result === "timeout") {
      attempt.then((conn) => conn.close(), () => {});
      return { open: false, error: "connect timeout" };
    }
    result.close();
    return { open: true };
  } catch (error) {
    return { open: false, error: messageOf(error) };
  } finally {
    clearTimeout(timer);
  }
}

export async function readFigures(url: string, timeoutMs: number): Promise<EngineFigures> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) {
      await res.body?.cancel();
      return {};
    }
    const samples = parsePrometheus(await res.text());
    return {
      templateHeight: sampleValue(samples, ENGINE_METRICS.templateHeight),
      templateAgeSeconds: sampleValue(samples, ENGINE_METRICS.templateAge),
      miners: sampleValue(samples, ENGINE_METRICS.miners),
    };
  } catch {
    return {};
  }
}

export async function probeRegion(target: RegionTarget, timeoutMs: number): Promise<RegionProbe> {
  const [health, tcp, figures] = await Promise.all([
    checkEngineHealth(target.healthUrl, timeoutMs),
    checkTcp(target.stratum.hostname, target.stratum.port, timeoutMs),
    readFigures(target.metricsUrl, timeoutMs),
  ]);
  return {
    engine: health.engine,
    engineReasons: health.reasons,
    stratumOpen: tcp.open,
    stratumError: tcp.error,
    figures,
  };
}
