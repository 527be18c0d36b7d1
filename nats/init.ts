/**
 * `deno task nats:init`: creates or updates stream MINING_EVENTS and the durable
 * consumer event-pipeline. Idempotent. Exits 1 with one clear line when NATS
 * is unreachable or an incompatible stream exists.
 *
 * Env: NATS_URL (default nats://127.0.0.1:4222), NATS_TLS_CA (optional: the CA
 * file of the server's TLS certificate; then TLS is required).
 */

import { jetstreamManager } from "@nats-io/jetstream";
import { connectNats } from "../functions/lib/nats_connect.ts";
import {
  CONSUMER_NAME,
  ensureConsumer,
  ensureStream,
  STREAM_NAME,
} from "../functions/lib/stream.ts";

export interface InitResult {
  stream: string;
  consumer: string;
}

export async function initNats(servers: string, tlsCaFile?: string): Promise<InitResult> {
  const nc = await connectNats({
    servers,
    name: "nats-init",
    waitOnFirstConnect: false,
    tlsCaFile,
  });
  try {
    const jsm = await jetstreamManager(nc).catch((error) => {
      throw new Error(`nats: JetStream is not enabled on ${servers}: ${error.message}`);
    });
    const stream = await ensureStream(jsm);
    const consumer = await ensureConsumer(jsm);
    return { stream, consumer };
  } finally {
    await nc.close();
  }
}

if (import.meta.main) {
  const servers = Deno.env.get("NATS_URL") || "nats://127.0.0.1:4222";
  try {
    const result = await initNats(servers, Deno.env.get("NATS_TLS_CA") || undefined);
    console.log(JSON.stringify({
      msg: "nats init done",
      stream: STREAM_NAME,
      stream_action: result.stream,
      consumer: CONSUMER_NAME,
      consumer_action: result.consumer,
    }));
  } catch (error) {
    console.error(`nats:init: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
