/**
 * The publisher's JetStream link: connects in the background (the publisher
 * spools while NATS is away), tracks connection state, logs every change and
 * publishes with `Nats-Msg-Id` set to the event id.
 */

import type { NatsConnection } from "@nats-io/transport-node";
import { jetstream, type JetStreamClient } from "@nats-io/jetstream";
import { connectNats } from "../lib/nats_connect.ts";
import type { Logger } from "../lib/log.ts";
import type { ForwarderLink, PublishAck } from "./forwarder.ts";

export interface NatsLinkOptions {
  servers: string;
  name: string;
  publishTimeoutMs: number;
  logger: Logger;
  onState?(connected: boolean): void;
}

export class NatsLink implements ForwarderLink {
  #nc: NatsConnection | undefined;
  #js: JetStreamClient | undefined;
  #connected = false;
  #waiters: Array<() => void> = [];
  #closed = false;
  #connecting: Promise<void> | undefined;

  constructor(private readonly options: NatsLinkOptions) {}

  get connected(): boolean {
    return this.#connected;
  }

  /** Starts connecting; never throws (retries until closed). */
  start(): void {
    this.#connecting ??= this.#connect();
  }

  async #connect(): Promise<void> {
    const { logger } = this.options;
    try {
      const nc = await connectNats({
        servers: this.options.servers,
        name: this.options.name,
        waitOnFirstConnect: true,
      });
      if (this.#closed) {
        await nc.close();
        return;
      }
      this.#nc = nc;
      this.#js = jetstream(nc, { timeout: this.options.publishTimeoutMs });
      this.#setConnected(true, { server: nc.getServer() });
      void this.#watch(nc);
    } catch (error) {
      logger.error("nats connect failed", { error: (error as Error).message });
    }
  }

  async #watch(nc: NatsConnection): Promise<void> {
    for await (const status of nc.status()) {
      if (status.type === "disconnect") this.#setConnected(false, { server: status.server });
      else if (status.type === "reconnect") this.#setConnected(true, { server: status.server });
      else if (status.type === "error") {
        this.options.logger.warn("nats error", { error: String(status.error) });
      }
    }
  }

  #setConnected(connected: boolean, fields: Record<string, unknown>): void {
    if (connected === this.#connected) return;
    this.#connected = connected;
    this.options.logger[connected ? "info" : "warn"](
      connected ? "nats connected" : "nats disconnected",
      fields,
    );
    this.options.onState?.(connected);
    if (connected) { for (const wake of this.#waiters.splice(0)) wake(); }
  }

  ready(signal: AbortSignal): Promise<void> {
    if (this.#connected || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.#waiters.push(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  async publish(subject: string, payload: Uint8Array, msgId: string): Promise<PublishAck> {
    const js = this.#js;
    if (!js || !this.#connected) throw new Error("nats: not connected");
    const ack = await js.publish(subject, payload, {
      msgID: msgId,
      timeout: this.options.publishTimeoutMs,
    });
    return { duplicate: ack.duplicate };
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const wake of this.#waiters.splice(0)) wake();
    const nc = this.#nc;
    this.#nc = undefined;
    if (nc) await nc.close().catch(() => {});
  }
}
