/**
 * A small Prometheus registry: counters and gauges with optional labels,
 * rendered in the text exposition format (version 0.0.4).
 */

export type Labels = Record<string, string>;
type Kind = "counter" | "gauge";

interface Family {
  name: string;
  help: string;
  kind: Kind;
  values: Map<string, { labels: Labels; value: number }>;
  collect?: () => number | Array<{ labels: Labels; value: number }>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;

function key(labels: Labels): string {
  return Object.keys(labels).sort().map((k) => `${k}=${labels[k]}`).join(",");
}

function escape(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function formatLabels(labels: Labels): string {
  const entries = Object.entries(labels);
  if (entries.length === 0) return "";
  return `{${entries.map(([k, v]) => `${k}="${escape(v)}"`).join(",")}}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

export class Counter {
  constructor(private readonly family: Family) {}
  inc(by = 1, labels: Labels = {}): void {
    const k = key(labels);
    const entry = this.family.values.get(k);
    if (entry) entry.value += by;
    else this.family.values.set(k, { labels, value: by });
  }
  get(labels: Labels = {}): number {
    return this.family.values.get(key(labels))?.value ?? 0;
  }
}

export class Gauge {
  constructor(private readonly family: Family) {}
  set(value: number, labels: Labels = {}): void {
    const k = key(labels);
    const entry = this.family.values.get(k);
    if (entry) entry.value = value;
    else this.family.values.set(k, { labels, value });
  }
  get(labels: Labels = {}): number {
    return this.family.values.get(key(labels))?.value ?? 0;
  }
  delete(labels: Labels): void {
    this.family.values.delete(key(labels));
  }
}

export class Registry {
  #families = new Map<string, Family>();

  #family(name: string, help: string, kind: Kind): Family {
    if (!NAME.test(name)) throw new Error(`metrics: invalid metric name '${name}'`);
    const existing = this.#families.get(name);
    if (existing) {
      if (existing.kind !== kind) throw new Error(`metrics: '${name}' already registered`);
      return existing;
    }
    const family: Family = { name, help, kind, values: new Map() };
    this.#families.set(name, family);
    return family;
  }

  counter(name: string, help: string): Counter {
    return new Counter(this.#family(name, help, "counter"));
  }

  gauge(name: string, help: string): Gauge {
    return new Gauge(this.#family(name, help, "gauge"));
  }

  /** A gauge whose value is read when the registry is rendered. */
  gaugeFn(
    name: string,
    help: string,
    collect: () => number | Array<{ labels: Labels; value: number }>,
  ): void {
    this.#family(name, help, "gauge").collect = collect;
  }

  render(): string {
    const lines: string[] = [];
    for (const family of this.#families.values()) {
      lines.push(`# HELP ${family.name} ${family.help.replace(/\n/g, " ")}`);
      lines.push(`# TYPE ${family.name} ${family.kind}`);
      const samples = family.collect ? family.collect() : [...family.values.values()];
      const list = typeof samples === "number" ? [{ labels: {}, value: samples }] : samples;
      for (const { labels, value } of list) {
        lines.push(`${family.name}${formatLabels(labels)} ${formatValue(value)}`);
      }
    }
    return lines.join("\n") + "\n";
  }
}

export interface Sample {
  name: string;
  labels: Labels;
  value: number;
}

/** Parses Prometheus text into samples (comments skipped, malformed lines ignored). */
export function parsePrometheus(text: string): Sample[] {
  const samples: Sample[] = [];
  const line = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{([^}]*)\})?\s+(\S+)(?:\s+\d+)?$/;
  const label = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
  for (const raw of text.split("\n")) {
    const trimmed = raw.trim();
    if (trimmed === "" || trimmed.startsWith("#")) continue;
    const m = line.exec(trimmed);
    if (!m) continue;
    const value = m[3] === "+Inf" ? Infinity : m[3] === "-Inf" ? -Infinity : Number(m[3]);
    if (Number.isNaN(value) && m[3] !== "NaN") continue;
    const labels: Labels = {};
    if (m[2]) {
      for (const lm of m[2].matchAll(label)) {
        labels[lm[1]] = lm[2].replace(/\\n/g, "\n").replace(/\\"/g, '"').replace(/\\\\/g, "\\");
      }
    }
    samples.push({ name: m[1], labels, value });
  }
  return samples;
}

/** The first sample named `name` (any labels), or undefined. */
export function sampleValue(samples: Sample[], name: string): number | undefined {
  return samples.find((s) => s.name === name)?.value;
}
