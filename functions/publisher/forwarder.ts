/**
 * Forwarder: reads the spool in order from the committed offset, publishes each
 * record with up to `maxInflight` publishes in flight, and commits the spool
 * only over the contiguous prefix of records JetStream has acknowledged.
 *
 * On any publish failure it lets the window drain, rewinds to the committed
 * offset and republishes from there after a backoff (duplicates are absorbed
 * by JetStream's duplicate window through Nats-Msg-Id).
 */

import { backoffDelay, sleep } from "../lib/backoff.ts";
import type { Spool, SpoolRecord } from "./spool.ts";

export interface PublishAck {
  duplicate: boolean;
}

export type PublishFn = (
  subject: string,
  payload: Uint8Array,
  msgId: string,
) => Promise<PublishAck>;

export interface ForwarderLink {
  publish: PublishFn;
  /** Resolves when the link is (or becomes) usable; early on abort. */
  ready(signal: AbortSignal): Promise<void>;
}

export interface ForwarderHooks {
  acked?(records: number, duplicates: number): void;
  failed?(error: unknown, attempt: number): void;
  recovered?(attempts: number): void;
}

export interface ForwarderOptions {
  maxInflight: number;
  readBytes?: number;
  backoff?: { initialMs: number; maxMs: number };
}

interface Slot {
  record: SpoolRecord;
  done: boolean;
  duplicate?: boolean;
}

export class Forwarder {
  #running: Promise<void> | undefined;
  #abort = new AbortController();

  constructor(
    private readonly spool: Spool,
    private readonly link: ForwarderLink,
    private readonly options: ForwarderOptions,
    private readonly hooks: ForwarderHooks = {},
  ) {}

  start(): void {
    this.#running ??= this.#run();
  }

  async stop(): Promise<void> {
    this.#abort.abort();
    await this.#running;
  }

  #attempt = 0;

  async #run(): Promise<void> {
    const signal = this.#abort.signal;
    const backoff = this.options.backoff ?? { initialMs: 100, maxMs: 5_000 };
    while (!signal.aborted) {
      await this.link.ready(signal);
      if (signal.aborted) break;
      const error = await this.#pass(signal);
      if (error === undefined) continue;
      this.hooks.failed?.(error, this.#attempt);
      await sleep(backoffDelay(this.#attempt, backoff), signal);
      this.#attempt++;
    }
  }

  /**
   * Publishes from the committed offset until a failure (returned) or abort.
   * Resolves with undefined only on abort.
   */
  async #pass(signal: AbortSignal): Promise<unknown> {
    const window: Slot[] = [];
    let inflight = 0;
    let failure: unknown;
    let failed = false;
    let wakeSlot: (() => void) | undefined;
    const settled = () => {
      inflight--;
      const wake = wakeSlot;
      wakeSlot = undefined;
      wake?.();
    };
    let cursor = this.spool.committed;
    // Aborted on the caller's abort and on the first failed publish, so a
    // failure is retried at once even when no new record arrives to wake the
    // wait for data.
    const pass = new AbortController();
    const abortPass = () => pass.abort();
    signal.addEventListener("abort", abortPass, { once: true });

    // window[head..] are the records in flight, in spool order.
    let head = 0;
    const advance = () => {
      let next = -1;
      let n = 0;
      let duplicates = 0;
      while (head < window.length && window[head].done) {
        const slot = window[head++];
        next = slot.record.next;
        if (slot.duplicate) duplicates++;
        n++;
      }
      if (head > 4096 && head * 2 > window.length) {
        window.splice(0, head);
        head = 0;
      }
      if (next >= 0) {
        this.spool.commit(next);
        this.#report(n, duplicates);
      }
    };

    while (!signal.aborted && !failed) {
      if (cursor >= this.spool.writeEnd) {
        await this.spool.waitForData(cursor, pass.signal);
        continue;
      }
      const records = await this.spool.read(cursor, this.options.readBytes ?? 1 << 20);
      for (const record of records) {
        while (inflight >= this.options.maxInflight && !failed && !signal.aborted) {
          await new Promise<void>((resolve) => (wakeSlot = resolve));
        }
        if (failed || signal.aborted) break;
        const slot: Slot = { record, done: false };
        window.push(slot);
        inflight++;
        cursor = record.next;
        this.link.publish(record.subject, record.payload, record.msgId).then(
          (ack) => {
            slot.done = true;
            slot.duplicate = ack.duplicate;
            advance();
            settled();
          },
          (error) => {
            if (!failed) failure = error;
            failed = true;
            pass.abort();
            settled();
          },
        );
      }
    }
    while (inflight > 0) await new Promise<void>((resolve) => (wakeSlot = resolve));
    signal.removeEventListener("abort", abortPass);
    return failed ? failure ?? new Error("publish failed") : undefined;
  }

  #report(acked: number, duplicates: number): void {
    if (this.#attempt > 0) {
      this.hooks.recovered?.(this.#attempt);
      this.#attempt = 0;
    }
    this.hooks.acked?.(acked, duplicates);
  }
}
