/**
 * A stand-in for the engine's event emitter in tests and the bench: builds
 * envelopes with rising seq for one boot_id and sends each as a datagram to a
 * consumer socket from a client socket of its own.
 */

import type { Envelope, EventType } from "../../functions/lib/envelope.ts";
import { uuidv4, uuidv7 } from "../../functions/lib/uuid.ts";

export interface FakeEngineOptions {
  region: string;
  poolInstance?: string;
  /** Client socket path (bound so the kernel can name the sender). */
  clientPath: string;
}

const encoder = new TextEncoder();

export class FakeEngine {
  readonly bootId = uuidv4();
  readonly poolInstance: string;
  seq = 0;
  #socket: Deno.DatagramConn;

  constructor(readonly options: FakeEngineOptions) {
    this.poolInstance = options.poolInstance ?? `ckpool-${options.region}`;
    try {
      Deno.removeSync(options.clientPath);
    } catch {
      // not there
    }
    this.#socket = Deno.listenDatagram({ transport: "unixpacket", path: options.clientPath });
  }

  /** The next envelope (seq + 1), not sent. */
  next(event: EventType = "share_submitted", data?: Record<string, unknown>): Envelope {
    this.seq++;
    const nowUs = Date.now() * 1000 + (this.seq % 1000);
    return {
      event_id: uuidv7(),
      event,
      ts: nowUs,
      source: "hosted",
      region: this.options.region,
      pool_instance: this.poolInstance,
      boot_id: this.bootId,
      seq: this.seq,
      data: data ?? { user: "bc1qtest", worker: `w${this.seq % 7}`, diff: 1024, accepted: true },
    };
  }

  /** Sends raw bytes (for malformed datagrams). */
  async sendRaw(to: string, bytes: Uint8Array): Promise<void> {
    await this.#socket.send(bytes, { transport: "unixpacket", path: to });
  }

  /** Sends one envelope; retries while the consumer socket is absent or its buffer full. */
  async send(to: string, envelope: Envelope, retryMs = 30_000): Promise<void> {
    const bytes = encoder.encode(JSON.stringify(envelope));
    const deadline = Date.now() + retryMs;
    while (true) {
      try {
        await this.#socket.send(bytes, { transport: "unixpacket", path: to });
        return;
      } catch (error) {
        if (Date.now() > deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    }
  }

  close(): void {
    try {
      this.#socket.close();
    } catch {
      // closed
    }
    try {
      Deno.removeSync(this.options.clientPath);
    } catch {
      // gone
    }
  }
}
