/**
 * The publisher's JetStream link: connects in the background (the publisher
 * spools while NATS is away), tracks connection state, logs every change and
 * publishes with `Nats-Msg-Id` set to the event id.
 *
 * Publishes are pipelined: each is a core publish to the stream's subject with
 * a reply subject of its own under one inbox, and JetStream's PubAck settles
 * it through one wildcard subscription (see ack_tracker.ts). This is what
 * `js.publish` does per message, without a request, a timer and a promise
 * chain per event; many publishes are in flight at once and nats.js writes
 * them to the socket in batches.
 */

import { createInbox, headers, type NatsConnection } from "@nats-io/transport-node";
import { connectNats } from "../lib/nats_connect.ts";
import type { Logger } from "../lib/log.ts";
import { AckTracker } from "./ack_tracker.ts";
import type { ForwarderLink, PublishAck } from "./forwarder.ts";

export interface NatsLinkOptions {
  servers: string;
  name: string;
  /** CA file for TLS to NATS (NATS_TLS_CA); absent or "" = no private CA. */
  tlsCaFile?: string;
  publishTimeoutMs: number;
  logger: Logger;
  onState?(connected: boolean): void;
}

export class NatsLink implements ForwarderLink {
  #nc: NatsConnection | undefined;
  #inbox = createInbox();
  #acks: AckTracker;
  #connected = false;
  #waiters: Array<() => void> = [];
  #closed = false;
  #connecting: Promise<void> | undefined;

  constructor(private readonly options: NatsLinkOptions) {
    this.#acks = new AckTracker(options.publishTimeoutMs);
  }

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
        tlsCaFile: this.options.tlsCaFile,
      });
      if (this.#closed) {
        await nc.close();
        return;
      }
      this.#nc = nc;
      const prefix = this.#inbox.length + 1;
      nc.subscribe(`${this.#inbox}.*`, {
        callback: (error, msg) => {
          if (error) return;
          const status = msg.headers?.code
            ? { code: msg.headers.code, description: msg.headers.description }
            : undefined;
          this.#acks.settle(Number(msg.subject.slice(prefix)), msg.data, status);
        },
      });
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
    // Acks of publishes sent before a disconnect may never come: fail them now
    // so the forwarder rewinds and republishes (duplicates are absorbed).
    if (!connected) this.#acks.failAll(new Error("nats: disconnected"));
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

  publish(subject: string, payload: Uint8Array, msgId: string): Promise<PublishAck> {
    const nc = this.#nc;
    if (!nc || !this.#connected) return Promise.reject(new Error("nats: not connected"));
    const h = headers();
    h.set("Nats-Msg-Id", msgId);
    const { id, acked } = this.#acks.register();
    try {
      nc.publish(subject, payload, { headers: h, reply: `${this.#inbox}.${id}` });
    } catch (error) {
      this.#acks.failAll(error as Error);
    }
    return acked;
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#acks.failAll(new Error("nats: link closed"));
    for (const wake of this.#waiters.splice(0)) wake();
    const nc = this.#nc;
    this.#nc = undefined;
    if (nc) await nc.close().catch(() => {});
  }
}
