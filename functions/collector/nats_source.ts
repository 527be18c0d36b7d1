/**
 * NATS source: the durable pull consumer `event-pipeline` on MINING_EVENTS.
 * Each message becomes a pipeline item whose ack() is the JetStream ack, so a
 * message is acknowledged only after both stores committed it. Invalid
 * messages (cannot happen through the publisher) are terminated and counted.
 */

import type { NatsConnection } from "@nats-io/transport-node";
import { jetstream, jetstreamManager } from "@nats-io/jetstream";
import { backoffDelay, sleep } from "../lib/backoff.ts";
import { validateEnvelope } from "../lib/envelope.ts";
import type { Logger } from "../lib/log.ts";
import { CONSUMER_NAME, ensureConsumer, ensureStream, STREAM_NAME } from "../lib/stream.ts";
import type { Item } from "./pipeline.ts";

export interface NatsSourceOptions {
  nc: NatsConnection;
  logger: Logger;
  /** Messages pulled ahead of acknowledgement. */
  maxMessages: number;
  onItem(item: Item): void;
  onInvalid(reason: string): void;
}

const decoder = new TextDecoder();

export function parseItemPayload(
  text: string,
): { ok: true; envelope: Item["envelope"] } | { ok: false; reason: string } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `payload is not JSON: ${(error as Error).message}` };
  }
  return validateEnvelope(parsed);
}

/** Consumes until `signal` aborts; re-ensures stream and consumer after any failure. */
export async function runNatsSource(
  options: NatsSourceOptions,
  signal: AbortSignal,
): Promise<void> {
  const { nc, logger } = options;
  let attempt = 0;
  while (!signal.aborted) {
    try {
      const jsm = await jetstreamManager(nc);
      await ensureStream(jsm);
      await ensureConsumer(jsm);
      const consumer = await jetstream(nc).consumers.get(STREAM_NAME, CONSUMER_NAME);
      const messages = await consumer.consume({ max_messages: options.maxMessages });
      const stop = () => messages.stop();
      signal.addEventListener("abort", stop, { once: true });
      logger.info("consuming", { stream: STREAM_NAME, consumer: CONSUMER_NAME });
      attempt = 0;
      try {
        for await (const m of messages) {
          const payload = decoder.decode(m.data);
          const parsed = parseItemPayload(payload);
          if (!parsed.ok) {
            options.onInvalid(parsed.reason);
            m.term(parsed.reason);
            continue;
          }
          options.onItem({
            envelope: parsed.envelope,
            payload,
            ack: () => m.ack(),
            working: () => m.working(),
            term: (reason) => m.term(reason),
          });
        }
      } finally {
        signal.removeEventListener("abort", stop);
      }
      if (!signal.aborted) logger.warn("consumer iteration ended; resubscribing");
    } catch (error) {
      if (signal.aborted) break;
      logger.warn("nats consume failed; retrying", {
        error: (error as Error).message,
        attempt,
      });
    }
    await sleep(backoffDelay(attempt++, { initialMs: 250, maxMs: 5_000 }), signal);
  }
}
