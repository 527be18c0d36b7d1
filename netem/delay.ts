/**
 * One-way delay for the userspace latency bridge: samples a delay from a
 * normal distribution (mean `delayMs`, standard deviation `jitterMs`, clamped
 * at 0) and schedules chunks so that jitter never reorders bytes: a chunk is
 * sent at `max(arrival + sample, previous chunk's send time)`.
 */

/** Returns a uniform random number in [0, 1). Injectable for tests. */
export type RandomSource = () => number;

/** Draws one standard normal variate (Box-Muller). */
export function standardNormal(random: RandomSource = Math.random): number {
  // 1 - random() is in (0, 1], so the logarithm is finite.
  const u = 1 - random();
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** A sampler of one-way delays in milliseconds, never negative. */
export function delaySampler(
  delayMs: number,
  jitterMs: number,
  random: RandomSource = Math.random,
): () => number {
  if (jitterMs === 0) return () => delayMs;
  return () => Math.max(0, delayMs + jitterMs * standardNormal(random));
}

/**
 * The send schedule of one direction of one connection. `schedule(arrival)`
 * returns when the chunk that arrived at `arrival` (ms, any monotonic clock)
 * may be written; the result never decreases, so chunks keep their order.
 */
export class DelayLine {
  #lastSendAt = -Infinity;

  constructor(private readonly sample: () => number) {}

  schedule(arrivalMs: number): number {
    const sendAt = Math.max(arrivalMs + this.sample(), this.#lastSendAt);
    this.#lastSendAt = sendAt;
    return sendAt;
  }
}
