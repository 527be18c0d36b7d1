/**
 * A short-lived in-process cache of computed answers, keyed by request path
 * and query. Concurrent misses on one key share one computation, so a burst
 * of page loads for one address costs one set of queries. A failed
 * computation is not kept. At most `maxEntries` answers are held; the oldest
 * insertion is evicted first.
 */

export interface CachedValue<T> {
  value: T;
  /** Milliseconds since the epoch when it was computed. */
  storedAt: number;
  /** True when this call computed it, false when it came from the cache. */
  fresh: boolean;
}

interface Entry<T> {
  promise: Promise<{ value: T; storedAt: number }>;
  expiresAt: number;
}

export class TtlCache<T> {
  #entries = new Map<string, Entry<T>>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly clock: () => number = Date.now,
  ) {}

  get size(): number {
    return this.#entries.size;
  }

  async get(key: string, compute: () => Promise<T>): Promise<CachedValue<T>> {
    const now = this.clock();
    const hit = this.#entries.get(key);
    if (hit && hit.expiresAt > now) {
      const { value, storedAt } = await hit.promise;
      return { value, storedAt, fresh: false };
    }
    if (hit) this.#entries.delete(key);
    const promise = compute().then((value) => ({ value, storedAt: this.clock() }));
    if (this.ttlMs > 0) {
      this.#entries.set(key, { promise, expiresAt: now + this.ttlMs });
      while (this.#entries.size > this.maxEntries) {
        this.#entries.delete(this.#entries.keys().next().value as string);
      }
      promise.catch(() => {
        if (this.#entries.get(key)?.promise === promise) this.#entries.delete(key);
      });
    }
    const { value, storedAt } = await promise;
    return { value, storedAt, fresh: true };
  }
}
