/** Reads a Prometheus text endpoint: the sum of a family's samples, any labels. */

/** Sum of every `name` / `name{...}` sample at `<url>/metrics`; null when there is none. */
export async function metric(url: string, name: string): Promise<number | null> {
  const text = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5_000) }))
    .text();
  let sum: number | null = null;
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name} `) && !line.startsWith(`${name}{`)) continue;
    sum = (sum ?? 0) + Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return sum;
}

/**
 * The least template propagation a relay behind a latency bridge can report: the bridge's
 * jitter is a normal standard deviation around its one-way delay, so one sample in six falls
 * below delay - jitter; three deviations below keeps all but about one in a thousand.
 */
export function propagationFloorMs(link: { latencyMs: number; jitterMs: number }): number {
  return link.latencyMs - 3 * link.jitterMs;
}
