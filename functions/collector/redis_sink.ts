/**
 * Redis Streams writer: `events:<event>` per type, capped with MAXLEN ~, each
 * event_id added at most once. One Lua script call per batch checks and
 * records every event_id in a dedup set and XADDs only the new ones, so the
 * check and the add are atomic; each dedup set touched gets one EXPIRE.
 *
 * Dedup sets are bucketed by the event's hour (`events:seen:<hour>`) and expire
 * `dedupTtlSeconds` after their last write. With a TTL at least the stream's
 * max age (24 h), any redelivery JetStream can still make finds its id.
 */

import type { Redis } from "ioredis";
import type { Envelope } from "../lib/envelope.ts";

export const ADD_ONCE_SCRIPT = `
local ttl = ARGV[1]
local maxlen = ARGV[2]
local added = 0
local touched = {}
local n = #KEYS / 2
for i = 1, n do
  local seen = KEYS[2 * i - 1]
  local stream = KEYS[2 * i]
  local id = ARGV[2 * i + 1]
  if redis.call('SADD', seen, id) == 1 then
    touched[seen] = true
    redis.call('XADD', stream, 'MAXLEN', '~', maxlen, '*', 'event_id', id, 'envelope', ARGV[2 * i + 2])
    added = added + 1
  end
end
for seen in pairs(touched) do
  redis.call('EXPIRE', seen, ttl)
end
return added
`;

export interface RedisSinkOptions {
  streamMaxLen: number;
  dedupTtlSeconds: number;
}

const HOUR_US = 3_600_000_000;

export function streamKey(event: string): string {
  return `events:${event}`;
}

export function seenKey(tsMicros: number): string {
  return `events:seen:${Math.floor(tsMicros / HOUR_US)}`;
}

export class RedisSink {
  #sha: string | undefined;

  constructor(private readonly redis: Redis, private readonly options: RedisSinkOptions) {}

  /** Adds each new event to its stream; returns how many were new. */
  async write(events: Envelope[], payloads: string[]): Promise<number> {
    if (events.length === 0) return 0;
    const keys: string[] = [];
    const args: (string | number)[] = [this.options.dedupTtlSeconds, this.options.streamMaxLen];
    for (let i = 0; i < events.length; i++) {
      keys.push(seenKey(events[i].ts), streamKey(events[i].event));
      args.push(events[i].event_id, payloads[i]);
    }
    if (this.#sha === undefined) {
      this.#sha = await this.redis.script("LOAD", ADD_ONCE_SCRIPT) as string;
    }
    try {
      return Number(await this.redis.evalsha(this.#sha, keys.length, ...keys, ...args));
    } catch (error) {
      if (!String((error as Error).message).includes("NOSCRIPT")) throw error;
      this.#sha = undefined;
      return Number(await this.redis.eval(ADD_ONCE_SCRIPT, keys.length, ...keys, ...args));
    }
  }
}
