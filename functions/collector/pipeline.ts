/**
 * The collector's write loop: items from any source queue up; each batch is
 * de-duplicated by event_id, written to PostgreSQL, then to Redis, each
 * retried with backoff until it succeeds, and only then acknowledged.
 * While a sink is failing nothing is acknowledged; every 10 s the loop tells
 * JetStream the queued messages are still being worked on (no redelivery storm).
 *
 * Up to `concurrency` batches are committed at once (each still PostgreSQL,
 * then Redis, then ack), so one batch's round trips overlap the next's. Both
 * writes are idempotent and commutative per event, so batch order does not
 * matter; `committed` reports arrive in completion order.
 *
 * A PostgreSQL error the sink classifies as permanent (a data error, SQLSTATE
 * class 22: the event itself cannot be stored) is not retried: the batch is
 * bisected until the offending events are isolated, those are terminated
 * upstream and reported through `rejected` (dead-lettered), and the rest
 * commits. Without this one such event would stall the collector forever.
 */

import { backoffDelay, sleep } from "../lib/backoff.ts";
import type { Envelope } from "../lib/envelope.ts";
import type { PgWriteResult } from "./pg_sink.ts";

export interface Item {
  envelope: Envelope;
  /** The envelope as JSON text (as stored in Redis). */
  payload: string;
  /** Acknowledge upstream (no-op for socket sources). */
  ack(): void;
  /** Extend the upstream ack deadline (no-op for socket sources). */
  working(): void;
  /** Tell upstream never to redeliver (a permanently unstorable event). */
  term(reason: string): void;
}

export interface Sinks {
  writePg(events: Envelope[], payloads: string[]): Promise<PgWriteResult>;
  writeRedis(events: Envelope[], payloads: string[]): Promise<number>;
  /** True when a writePg error is caused by the events themselves (not retried). */
  isPermanentPgError?(error: unknown): boolean;
}

export interface BatchReport {
  items: number;
  unique: number;
  pg: PgWriteResult;
  redisAdded: number;
  /** Now minus the oldest event ts in the batch, in seconds. */
  maxLagSeconds: number;
}

export interface PipelineHooks {
  committed?(report: BatchReport): void;
  sinkFailed?(sink: "postgres" | "redis", error: unknown, attempt: number): void;
  sinkRecovered?(sink: "postgres" | "redis", attempts: number): void;
  /** An event PostgreSQL permanently rejects: terminated upstream, never stored. */
  rejected?(item: Item, error: unknown): void;
}

/** Thrown by #retry for an error the sink classifies as permanent. */
class PermanentFailure {
  constructor(readonly error: unknown) {}
}

const NO_ROWS: PgWriteResult = { inserted: 0, blocks: 0, sources: [] };

export interface PipelineOptions {
  batchMax: number;
  batchWaitMs: number;
  /** Batches committed at once (default 1). */
  concurrency?: number;
  backoff?: { initialMs: number; maxMs: number };
  workingIntervalMs?: number;
}

export class CollectorPipeline {
  #queue: Item[] = [];
  #wake: (() => void) | undefined;
  #abort = new AbortController();
  #running: Promise<void> | undefined;
  #sinkUp = { postgres: true, redis: true };
  #inflight = 0;

  constructor(
    private readonly sinks: Sinks,
    private readonly options: PipelineOptions,
    private readonly hooks: PipelineHooks = {},
  ) {}

  /** Items received and not yet acknowledged (queued or being committed). */
  get queued(): number {
    return this.#queue.length + this.#inflight;
  }

  sinkUp(sink: "postgres" | "redis"): boolean {
    return this.#sinkUp[sink];
  }

  push(item: Item): void {
    this.#queue.push(item);
    if (this.#queue.length === 1 || this.#queue.length >= this.options.batchMax) {
      const wake = this.#wake;
      this.#wake = undefined;
      wake?.();
    }
  }

  start(): void {
    this.#running ??= this.#run();
  }

  /** Stops after the batch in progress (unacknowledged items are simply not acked). */
  async stop(): Promise<void> {
    this.#abort.abort();
    this.#wake?.();
    await this.#running;
  }

  async #waitFor(condition: () => boolean, timeoutMs?: number): Promise<void> {
    const signal = this.#abort.signal;
    const deadline = timeoutMs === undefined ? Infinity : Date.now() + timeoutMs;
    while (!condition() && !signal.aborted && Date.now() < deadline) {
      const wait = new Promise<void>((resolve) => (this.#wake = resolve));
      if (deadline === Infinity) await wait;
      else {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          wait,
          new Promise<void>((resolve) => (timer = setTimeout(resolve, deadline - Date.now()))),
        ]);
        clearTimeout(timer);
      }
    }
  }

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    const concurrency = Math.max(1, this.options.concurrency ?? 1);
    const running = new Set<Promise<boolean>>();
    while (!signal.aborted) {
      await this.#waitFor(() => this.#queue.length > 0);
      if (signal.aborted) break;
      if (this.#queue.length < this.options.batchMax && this.options.batchWaitMs > 0) {
        await this.#waitFor(
          () => this.#queue.length >= this.options.batchMax,
          this.options.batchWaitMs,
        );
      }
      if (signal.aborted) break;
      const batch = this.#queue.splice(0, this.options.batchMax);
      this.#inflight += batch.length;
      const commit = this.#commit(batch).finally(() => {
        this.#inflight -= batch.length;
        running.delete(commit);
      });
      running.add(commit);
      if (running.size >= concurrency) await Promise.race(running);
    }
    await Promise.all(running);
  }

  async #commit(batch: Item[]): Promise<boolean> {
    const seen = new Set<string>();
    let events: Envelope[] = [];
    let payloads: string[] = [];
    for (const item of batch) {
      if (seen.has(item.envelope.event_id)) continue;
      seen.add(item.envelope.event_id);
      events.push(item.envelope);
      payloads.push(item.payload);
    }
    const rejected = new Map<string, unknown>();
    const pg = await this.#writePgIsolating(events, payloads, batch, rejected);
    if (pg === undefined) return false;
    if (rejected.size > 0) {
      const keep = events.map((e) => !rejected.has(e.event_id));
      events = events.filter((_, i) => keep[i]);
      payloads = payloads.filter((_, i) => keep[i]);
    }
    const redisAdded = events.length === 0 ? 0 : await this.#retry(
      "redis",
      batch,
      () => this.sinks.writeRedis(events, payloads),
    );
    if (redisAdded === undefined) return false;
    let oldest = Infinity;
    for (const e of events) if (e.ts < oldest) oldest = e.ts;
    let acked = 0;
    for (const item of batch) {
      if (!rejected.has(item.envelope.event_id)) {
        item.ack();
        acked++;
        continue;
      }
      const error = rejected.get(item.envelope.event_id);
      item.term(`unstorable: ${(error as Error)?.message ?? String(error)}`);
      this.hooks.rejected?.(item, error);
    }
    this.hooks.committed?.({
      items: acked,
      unique: events.length,
      pg,
      redisAdded,
      maxLagSeconds: oldest === Infinity ? 0 : Math.max(0, Date.now() / 1000 - oldest / 1e6),
    });
    return true;
  }

  /**
   * Writes to PostgreSQL; on a permanent error bisects until the failing
   * events are isolated (recorded in `rejected`) and the rest is written.
   * Undefined when stopped first.
   */
  async #writePgIsolating(
    events: Envelope[],
    payloads: string[],
    batch: Item[],
    rejected: Map<string, unknown>,
  ): Promise<PgWriteResult | undefined> {
    if (events.length === 0) return NO_ROWS;
    try {
      return await this.#retry(
        "postgres",
        batch,
        () => this.sinks.writePg(events, payloads),
        (error) => this.sinks.isPermanentPgError?.(error) ?? false,
      );
    } catch (failure) {
      if (!(failure instanceof PermanentFailure)) throw failure;
      if (events.length === 1) {
        rejected.set(events[0].event_id, failure.error);
        return NO_ROWS;
      }
    }
    const mid = events.length >>> 1;
    const a = await this.#writePgIsolating(
      events.slice(0, mid),
      payloads.slice(0, mid),
      batch,
      rejected,
    );
    if (a === undefined) return undefined;
    const b = await this.#writePgIsolating(events.slice(mid), payloads.slice(mid), batch, rejected);
    if (b === undefined) return undefined;
    return {
      inserted: a.inserted + b.inserted,
      blocks: a.blocks + b.blocks,
      sources: [...a.sources, ...b.sources],
    };
  }

  /**
   * Runs `write` until it succeeds; undefined when stopped first. An error
   * `permanent` accepts is thrown at once as a PermanentFailure.
   */
  async #retry<T>(
    sink: "postgres" | "redis",
    batch: Item[],
    write: () => Promise<T>,
    permanent?: (error: unknown) => boolean,
  ): Promise<T | undefined> {
    const signal = this.#abort.signal;
    const backoff = this.options.backoff ?? { initialMs: 100, maxMs: 5_000 };
    const workingEvery = this.options.workingIntervalMs ?? 10_000;
    let attempt = 0;
    let lastWorking = Date.now();
    while (true) {
      try {
        const result = await write();
        if (attempt > 0) this.hooks.sinkRecovered?.(sink, attempt);
        this.#sinkUp[sink] = true;
        return result;
      } catch (error) {
        if (permanent?.(error)) {
          if (attempt > 0) this.hooks.sinkRecovered?.(sink, attempt);
          this.#sinkUp[sink] = true;
          throw new PermanentFailure(error);
        }
        this.#sinkUp[sink] = false;
        this.hooks.sinkFailed?.(sink, error, attempt);
      }
      if (signal.aborted) return undefined;
      await sleep(backoffDelay(attempt++, backoff), signal);
      if (signal.aborted) return undefined;
      if (Date.now() - lastWorking >= workingEvery) {
        lastWorking = Date.now();
        for (const item of batch) item.working();
        for (const item of this.#queue) item.working();
      }
    }
  }
}
