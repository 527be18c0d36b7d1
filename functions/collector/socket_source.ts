/**
 * Socket source for single-instance deployments: the collector binds an
 * engine's event socket itself. There is no upstream to acknowledge, so an
 * event received here is as durable as the collector process (see README).
 */

import { bindDatagramSocket, type DatagramBatcher } from "../lib/datagram_socket.ts";
import type { Item } from "./pipeline.ts";
import { parseItemPayload } from "./nats_source.ts";

export interface SocketSourceOptions {
  path: string;
  onItem(item: Item): void;
  onInvalid(reason: string): void;
}

const decoder = new TextDecoder("utf-8", { fatal: true });
const noop = () => {};

export interface SocketSource {
  readonly done: Promise<void>;
  close(): void;
}

export async function startSocketSource(options: SocketSourceOptions): Promise<SocketSource> {
  const socket: DatagramBatcher = await bindDatagramSocket(options.path);
  const loop = async () => {
    while (true) {
      const batch = await socket.next();
      if (batch.length === 0) return;
      for (const bytes of batch) {
        let payload: string;
        try {
          payload = decoder.decode(bytes);
        } catch {
          options.onInvalid("payload is not valid UTF-8");
          continue;
        }
        const parsed = parseItemPayload(payload);
        if (!parsed.ok) {
          options.onInvalid(parsed.reason);
          continue;
        }
        options.onItem({
          envelope: parsed.envelope,
          payload,
          ack: noop,
          working: noop,
          term: noop,
        });
      }
    }
  };
  return { done: loop(), close: () => socket.close() };
}
