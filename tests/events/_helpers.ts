/**
 * Helpers for the engine event tests: a consumer bound to the engine's
 * event socket that can be stopped (socket closed and removed) and started
 * again on the same path, a strict Prometheus text-format parser, /metrics
 * and /health readers, and shares mined to be (or not be) blocks.
 *
 * The consumer needs --unstable-net (Deno.listenDatagram, "unixpacket").
 */

import type { Engine } from "../../lib/harness/engine.ts";
import type { StratumClient } from "../../lib/stratum/client.ts";
import type { Job, MinedShare } from "../../lib/stratum/job.ts";
import { mineShare } from "../../lib/harness/stratum_miner.ts";

export interface Envelope {
  event_id: string;
  event: string;
  ts: number;
  source: string;
  region: string;
  pool_instance: string;
  boot_id: string;
  seq: number;
  data: Record<string, unknown>;
}

/** Reads every datagram on `path` into `events` until stopped. */
export class EventConsumer {
  readonly events: Envelope[] = [];
  #socket: Deno.DatagramConn | null = null;
  #reading: Promise<void> = Promise.resolve();

  constructor(readonly path: string) {}

  start(): void {
    try {
      Deno.removeSync(this.path);
    } catch {
      // not there
    }
    const socket = Deno.listenDatagram({ transport: "unixpacket", path: this.path });
    this.#socket = socket;
    this.#reading = (async () => {
      try {
        for await (const [bytes] of socket) {
          this.events.push(JSON.parse(new TextDecoder().decode(bytes)));
        }
      } catch {
        // closed
      }
    })();
  }

  /** Closes and removes the socket: the engine then has no consumer. */
  async stop(): Promise<void> {
    this.#socket?.close();
    this.#socket = null;
    await this.#reading;
    try {
      Deno.removeSync(this.path);
    } catch {
      // gone already
    }
  }

  of(type: string, boot?: string): Envelope[] {
    return this.events.filter((e) => e.event === type && (!boot || e.boot_id === boot));
  }

  boots(): string[] {
    return [...new Set(this.events.map((e) => e.boot_id))];
  }
}

// ---- Prometheus text exposition format 0.0.4, strictly ----

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  help: string;
  type: "counter" | "gauge" | "histogram" | "summary" | "untyped";
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function parseValue(text: string, line: string): number {
  if (text === "+Inf") return Infinity;
  if (text === "-Inf") return -Infinity;
  if (text === "NaN") return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) {
    throw new Error(`bad sample value "${text}" in: ${line}`);
  }
  return Number(text);
}

/** Parses `{a="b",c="d"}` starting at text[0] === "{"; returns labels and the rest. */
function parseLabels(text: string, line: string): [Record<string, string>, string] {
  const labels: Record<string, string> = {};
  let i = 1;
  while (text[i] !== "}") {
    const eq = text.indexOf("=", i);
    if (eq < 0) throw new Error(`bad labels in: ${line}`);
    const name = text.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`bad label name "${name}" in: ${line}`);
    if (name in labels) throw new Error(`duplicate label "${name}" in: ${line}`);
    if (text[eq + 1] !== '"') throw new Error(`unquoted label value in: ${line}`);
    let value = "";
    let j = eq + 2;
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] === "\\") {
        const next = text[++j];
        if (next === "n") value += "\n";
        else if (next === "\\" || next === '"') value += next;
        else throw new Error(`bad escape in: ${line}`);
      } else value += text[j];
    }
    if (j >= text.length) throw new Error(`unterminated label value in: ${line}`);
    labels[name] = value;
    i = j + 1;
    if (text[i] === ",") i++;
    else if (text[i] !== "}") throw new Error(`expected , or } in: ${line}`);
  }
  return [labels, text.slice(i + 1)];
}

/** The family a sample name belongs to (histogram suffixes stripped). */
function familyOf(name: string, families: Map<string, Family>): Family | undefined {
  if (families.has(name)) return families.get(name);
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (name.endsWith(suffix)) {
      const f = families.get(name.slice(0, -suffix.length));
      if (f && (f.type === "histogram" || f.type === "summary")) return f;
    }
  }
  return undefined;
}

/**
 * Parses an exposition. Every family needs `# HELP` then `# TYPE` before its
 * samples, names and labels must be valid, values numeric, no family
 * repeated, no sample (name + labels) repeated.
 */
export function parsePrometheus(text: string): Map<string, Family> {
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  let pendingHelp: { name: string; help: string } | null = null;
  if (!text.endsWith("\n")) throw new Error("exposition must end with a newline");
  for (const line of text.slice(0, -1).split("\n")) {
    if (line === "") continue;
    if (line.startsWith("# HELP ")) {
      const rest = line.slice(7);
      const sp = rest.indexOf(" ");
      const name = sp < 0 ? rest : rest.slice(0, sp);
      if (!METRIC_NAME.test(name)) throw new Error(`bad metric name in: ${line}`);
      if (families.has(name)) throw new Error(`family ${name} repeated`);
      pendingHelp = { name, help: sp < 0 ? "" : rest.slice(sp + 1) };
      continue;
    }
    if (line.startsWith("# TYPE ")) {
      const [name, type, extra] = line.slice(7).split(" ");
      if (extra !== undefined || !TYPES.has(type)) throw new Error(`bad TYPE line: ${line}`);
      if (pendingHelp?.name !== name) throw new Error(`TYPE without HELP for ${name}`);
      families.set(name, {
        name,
        help: pendingHelp.help,
        type: type as Family["type"],
        samples: [],
      });
      pendingHelp = null;
      continue;
    }
    if (line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(.*)$/.exec(line);
    if (!m) throw new Error(`bad sample line: ${line}`);
    const [, name, after] = m;
    let labels: Record<string, string> = {};
    let rest = after;
    if (rest.startsWith("{")) [labels, rest] = parseLabels(rest, line);
    if (!rest.startsWith(" ")) throw new Error(`expected a space before the value: ${line}`);
    const parts = rest.trim().split(" ");
    if (parts.length > 2) throw new Error(`trailing garbage: ${line}`);
    const value = parseValue(parts[0], line);
    const family = familyOf(name, families);
    if (!family) throw new Error(`sample ${name} has no HELP/TYPE before it`);
    const key = name + JSON.stringify(Object.entries(labels).sort());
    if (seen.has(key)) throw new Error(`sample repeated: ${line}`);
    seen.add(key);
    family.samples.push({ name, labels, value });
  }
  return families;
}

/** The value of one sample; throws when absent. */
export function sample(
  families: Map<string, Family>,
  name: string,
  labels: Record<string, string> = {},
): number {
  const f = familyOf(name, families);
  const s = f?.samples.find((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
  if (!s) throw new Error(`no sample ${name}${JSON.stringify(labels)}`);
  return s.value;
}

/** Sum of every sample of `name` (e.g. over all types). */
export function total(families: Map<string, Family>, name: string): number {
  return familyOf(name, families)?.samples.filter((s) => s.name === name)
    .reduce((sum, s) => sum + s.value, 0) ?? NaN;
}

export async function scrape(engine: Engine): Promise<Map<string, Family>> {
  const res = await fetch(`http://127.0.0.1:${engine.metricsPort}/metrics`);
  const text = await res.text();
  if (res.status !== 200) throw new Error(`/metrics: HTTP ${res.status}`);
  return parsePrometheus(text);
}

export async function health(
  engine: Engine,
): Promise<
  { http: number; body: { status: string; reasons: string[] } & Record<string, unknown> }
> {
  const res = await fetch(`http://127.0.0.1:${engine.metricsPort}/health`);
  return { http: res.status, body: await res.json() };
}

// ---- shares ----

/** A share at the client's difficulty whose hash does not meet the network target. */
export function mineNonBlock(client: StratumClient, job: Job): MinedShare {
  let start = BigInt(Math.floor(Math.random() * 1e9));
  for (let i = 0; i < 1000; i++) {
    const share = mineShare(client, job, { extranonce2Start: start });
    if (!share.isBlock) return share;
    start = share.next.extranonce2 + 1n;
  }
  throw new Error("every share was a block: is the share difficulty below the network's?");
}
