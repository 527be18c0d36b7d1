/**
 * Pending JetStream publish acknowledgements for pipelined publishing.
 *
 * Each publish goes out as a core NATS publish with its own reply subject
 * `<inbox>.<n>` and registers here; the one wildcard subscription on
 * `<inbox>.*` settles it when JetStream's PubAck arrives. Deadlines are checked
 * by one timer for all pending publishes (no timer per message). Publishes are
 * registered in send order with the same timeout, so the oldest expires first.
 */

import type { PublishAck } from "./forwarder.ts";

interface Pending {
  resolve(ack: PublishAck): void;
  reject(error: Error): void;
  deadline: number;
}

export class AckTracker {
  #pending = new Map<number, Pending>();
  #next = 0;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(private readonly timeoutMs: number) {}

  get size(): number {
    return this.#pending.size;
  }

  /** Registers a publish; returns its number (the reply subject's last token) and its promise. */
  register(): { id: number; acked: Promise<PublishAck> } {
    const id = ++this.#next;
    const acked = new Promise<PublishAck>((resolve, reject) => {
      this.#pending.set(id, { resolve, reject, deadline: Date.now() + this.timeoutMs });
    });
    this.#timer ??= setInterval(() => this.#expire(), Math.min(250, this.timeoutMs / 4));
    return { id, acked };
  }

  /** Settles publish `id` from the reply JetStream sent (PubAck JSON, an error, or a status). */
  settle(id: number, data: Uint8Array, status?: { code: number; description: string }): void {
    const pending = this.#pending.get(id);
    if (pending === undefined) return; // expired or failed already
    this.#pending.delete(id);
    if (data.length === 0) {
      pending.reject(
        new Error(`nats: publish answered ${status?.code ?? "empty"} ${status?.description ?? ""}`),
      );
    } else {
      const ack = parseAck(data);
      if (ack instanceof Error) pending.reject(ack);
      else pending.resolve(ack);
    }
    this.#idle();
  }

  /** Rejects every pending publish (disconnect, close). */
  failAll(error: Error): void {
    const all = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of all) p.reject(error);
    this.#idle();
  }

  #expire(): void {
    const now = Date.now();
    for (const [id, p] of this.#pending) {
      if (p.deadline > now) break;
      this.#pending.delete(id);
      p.reject(new Error(`nats: publish not acknowledged within ${this.timeoutMs} ms`));
    }
    this.#idle();
  }

  #idle(): void {
    if (this.#pending.size > 0 || this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

const decoder = new TextDecoder();

/** A PubAck (`{"stream","seq","duplicate"?}`) or the error JetStream returned. */
export function parseAck(data: Uint8Array): PublishAck | Error {
  let ack: {
    stream?: string;
    duplicate?: boolean;
    error?: { code?: number; description?: string };
  };
  try {
    ack = JSON.parse(decoder.decode(data));
  } catch {
    return new Error(`nats: publish ack is not JSON: ${decoder.decode(data).slice(0, 80)}`);
  }
  if (ack.error) {
    return new Error(`nats: publish rejected: ${ack.error.code} ${ack.error.description}`);
  }
  if (typeof ack.stream !== "string") return new Error("nats: publish ack without a stream");
  return { duplicate: ack.duplicate === true };
}
