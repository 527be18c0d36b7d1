/**
 * One direction of one bridged connection: reads chunks from `src`, holds each
 * until its scheduled send time (DelayLine), writes it to `dst`. Stops reading
 * while more than `maxBufferBytes` wait (backpressure reaches the sender
 * through TCP flow control). End of input becomes `closeWrite()` on `dst`
 * once everything queued has been written.
 */

import type { DelayLine } from "./delay.ts";

const READ_SIZE = 64 * 1024;

export interface DirectionStats {
  bytes: number;
  chunks: number;
  /** The most bytes queued at once. */
  maxQueued: number;
  /** How often reading stopped because the queue was full. */
  pauses: number;
}

interface Chunk {
  data: Uint8Array;
  sendAt: number;
}

/** A one-shot wake-up: `wait()` resolves at the next `notify()`. */
class Wakeup {
  #resolve: (() => void) | null = null;
  wait(): Promise<void> {
    return new Promise((resolve) => (this.#resolve = resolve));
  }
  notify(): void {
    const resolve = this.#resolve;
    this.#resolve = null;
    resolve?.();
  }
}

export class DelayedPipe {
  readonly stats: DirectionStats = { bytes: 0, chunks: 0, maxQueued: 0, pauses: 0 };
  readonly #queue: Chunk[] = [];
  #queued = 0;
  #ended = false;
  #aborted = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #dataReady = new Wakeup();
  readonly #roomReady = new Wakeup();

  constructor(
    private readonly src: Deno.Conn,
    private readonly dst: Deno.TcpConn,
    private readonly line: DelayLine,
    private readonly maxBufferBytes: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Bytes read but not yet written. */
  get queued(): number {
    return this.#queued;
  }

  /** Resolves when input ended and was forwarded as a half-close; rejects on I/O errors. */
  run(): Promise<void> {
    return Promise.all([this.#readLoop(), this.#writeLoop()]).then(() => {});
  }

  /** Stops both loops at once; pending data is dropped. */
  abort(): void {
    this.#aborted = true;
    clearTimeout(this.#timer);
    this.#dataReady.notify();
    this.#roomReady.notify();
  }

  async #readLoop(): Promise<void> {
    while (!this.#aborted) {
      if (this.#queued > this.maxBufferBytes) {
        this.stats.pauses++;
        await this.#roomReady.wait();
        continue;
      }
      const buf = new Uint8Array(READ_SIZE);
      const n = await this.src.read(buf);
      if (this.#aborted) return;
      if (n === null) {
        this.#ended = true;
        this.#dataReady.notify();
        return;
      }
      this.#queue.push({ data: buf.subarray(0, n), sendAt: this.line.schedule(this.now()) });
      this.#queued += n;
      this.stats.maxQueued = Math.max(this.stats.maxQueued, this.#queued);
      this.#dataReady.notify();
    }
  }

  async #writeLoop(): Promise<void> {
    while (!this.#aborted) {
      const head = this.#queue[0];
      if (!head) {
        if (this.#ended) {
          await this.dst.closeWrite();
          return;
        }
        await this.#dataReady.wait();
        continue;
      }
      const wait = head.sendAt - this.now();
      if (wait > 0) {
        await new Promise<void>((resolve) => {
          this.#timer = setTimeout(resolve, Math.ceil(wait));
          // New data or abort() wakes us early; the loop then looks again.
          this.#dataReady.wait().then(resolve);
        });
        clearTimeout(this.#timer);
        continue;
      }
      await writeAll(this.dst, head.data);
      this.#queue.shift();
      this.#queued -= head.data.length;
      this.stats.bytes += head.data.length;
      this.stats.chunks++;
      if (this.#queued <= this.maxBufferBytes) this.#roomReady.notify();
    }
  }
}

async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) written += await conn.write(data.subarray(written));
}
