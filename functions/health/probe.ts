/**
 * One round of checks against a region: the engine's /health (JSON status),
 * its Stratum port (`mining.subscribe` must get a JSON reply: a frozen engine
 * still completes TCP handshakes from the kernel's backlog), and its /metrics
 * (template height and age, miners connected). Every check is bounded by the
 * timeout, body reads included.
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
  let text: string;
  try {
    // The timeout signal also bounds the body read: headers then silence is
    // an unreachable engine, not a malformed answer.
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    text = await res.text();
  } catch (error) {
    return { engine: "unreachable", reasons: [`health unreachable: ${messageOf(error)}`] };
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
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

const SUBSCRIBE = new TextEncoder().encode(
  `${JSON.stringify({ id: 1, method: "mining.subscribe", params: ["tbg-health/1.0"] })}\n`,
);

/**
 * Connects to the Stratum port, sends `mining.subscribe` and requires one
 * JSON line answering it (result or error) within `timeoutMs` overall.
 */
export async function checkStratum(
  hostname: string,
  port: number,
  timeoutMs: number,
): Promise<{ open: boolean; error?: string }> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let conn: Deno.Conn | undefined;
  let timedOut = false;
  const timeout = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => {
      timedOut = true;
      resolve("timeout");
    }, timeoutMs);
  });
  const attempt = Deno.connect({ hostname, port });
  const exchange = async (): Promise<{ open: boolean; error?: string }> => {
    conn = await attempt;
    if (timedOut) return { open: false };
    await conn.write(SUBSCRIBE);
    const decoder = new TextDecoder();
    const buf = new Uint8Array(4096);
    let text = "";
    while (!text.includes("\n")) {
      if (text.length > 65_536) return { open: false, error: "stratum reply too long" };
      const n = await conn.read(buf);
      if (n === null) return { open: false, error: "stratum closed without a reply" };
      text += decoder.decode(buf.subarray(0, n), { stream: true });
    }
    let reply: unknown;
    try {
      reply = JSON.parse(text.slice(0, text.indexOf("\n")));
    } catch {
      return { open: false, error: "stratum reply is not JSON" };
    }
    if (typeof reply !== "object" || reply === null || (reply as { id?: unknown }).id !== 1) {
      return { open: false, error: "stratum reply does not answer mining.subscribe" };
    }
    return { open: true };
  };
  try {
    const result = await Promise.race([exchange(), timeout]);
    if (result === "timeout") {
      attempt.then(closeQuietly, () => {});
      return {
        open: false,
        error: conn === undefined ? "connect timeout" : "no mining.subscribe reply (timeout)",
      };
    }
    return result;
  } catch (error) {
    return { open: false, error: messageOf(error) };
  } finally {
    clearTimeout(timer);
    if (conn !== undefined) closeQuietly(conn);
  }
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // closed already
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
    checkStratum(target.stratum.hostname, target.stratum.port, timeoutMs),
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
