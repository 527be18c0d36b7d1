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
