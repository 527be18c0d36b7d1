/**
 * The live view `deno task up` prints every few seconds (TBG_LIVE_INTERVAL,
 * seconds, default 5; 0 switches it off): one short line per region from its
 * engine's and publisher's /metrics, plus what the collector stored.
 *
 *   [live] us-east  miners 1  shares/s 0.4  blocks 12  height 213  passthrough  events 88 pub 88 behind 0
 */

export interface LiveRegion {
  name: string;
  role: "primary" | "relay";
  engineMetricsUrl: string;
  publisherMetricsUrl: string;
}

type Samples = Map<string, number>;

/** Sums every sample of each family in a Prometheus text body. */
export function parseMetrics(text: string): Samples {
  const out: Samples = new Map();
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const name = line.split(/[{ ]/, 1)[0];
    const value = Number(line.slice(line.lastIndexOf(" ") + 1));
    if (Number.isFinite(value)) out.set(name, (out.get(name) ?? 0) + value);
  }
  return out;
}

async function scrape(url: string): Promise<Samples | null> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    return parseMetrics(await response.text());
  } catch {
    return null;
  }
}

/** Keeps the previous share count per region to print a rate. */
export class LiveView {
  #last = new Map<string, { shares: number; at: number }>();

  constructor(readonly regions: readonly LiveRegion[], readonly collectorMetricsUrl: string) {}

  async lines(): Promise<string[]> {
    const collector = await scrape(`${this.collectorMetricsUrl}/metrics`);
    const lines: string[] = [];
    for (const region of this.regions) {
      const engine = await scrape(`${region.engineMetricsUrl}/metrics`);
      const publisher = await scrape(`${region.publisherMetricsUrl}/metrics`);
      if (!engine) {
        lines.push(`${region.name.padEnd(8)} engine not answering`);
        continue;
      }
      const get = (m: Samples | null, name: string) => m?.get(name) ?? 0;
      const shares = get(engine, "ckpool_shares_total");
      const now = Date.now();
      const prev = this.#last.get(region.name);
      this.#last.set(region.name, { shares, at: now });
      const rate = prev && now > prev.at ? (shares - prev.shares) / ((now - prev.at) / 1000) : 0;
      const mode = region.role === "primary"
        ? "primary"
        : get(engine, "ckpool_relay_independent_mode") === 1
        ? "independent"
        : "passthrough";
      const emitted = get(engine, "ckpool_events_emitted_total");
      const published = get(publisher, "publisher_events_published_total");
      lines.push(
        `${region.name.padEnd(8)} miners ${get(engine, "ckpool_miners_connected")}  ` +
          `shares/s ${rate.toFixed(1)}  blocks ${get(engine, "ckpool_blocks_found_total")}  ` +
          `height ${get(engine, "ckpool_template_height")}  ${mode.padEnd(11)}  ` +
          `events ${emitted} published ${published} behind ${Math.max(0, emitted - published)}`,
      );
    }
    const stored = collector ? get2(collector) : "collector not answering";
    lines.push(`stores   ${stored}`);
    return lines;
  }
}

function get2(m: Samples): string {
  return `stored ${m.get("collector_events_inserted_total") ?? 0} ` +
    `(queued ${m.get("collector_queued_events") ?? 0}, missing seqs ${
      m.get("collector_seq_missing_all_boots") ?? 0
    })`;
}

/** TBG_LIVE_INTERVAL in ms; 0 means off. Throws naming the variable on bad input. */
export function liveIntervalMs(value: string | undefined): number {
  if (value === undefined) return 5_000;
  if (!/^\d+(\.\d+)?$/.test(value)) {
    throw new Error(`TBG_LIVE_INTERVAL must be seconds >= 0 (got "${value}")`);
  }
  return Number(value) * 1000;
}
