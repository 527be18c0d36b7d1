/** redis-server with an append-only file: command line and readiness, shared by the stack and tests. */

import type { CommandSpec } from "../types.ts";
import { redisPong } from "../readiness.ts";
import { commandPath } from "../which.ts";

export interface RedisLayout {
  /** Working directory: the AOF directory and any RDB file live here. */
  dir: string;
  port: number;
  /**
   * `always` (the default) survives SIGKILL and power loss without losing an
   * acknowledged write: the collector acks JetStream after Redis answers, so
   * the answer must not precede durability. `everysec` can lose up to ~1 s.
   */
  appendfsync?: "always" | "everysec";
}

export function redisCommand(layout: RedisLayout): CommandSpec {
  return {
    cmd: commandPath("redis-server"),
    args: [
      "--port",
      String(layout.port),
      "--bind",
      "127.0.0.1",
      "--dir",
      layout.dir,
      "--appendonly",
      "yes",
      "--appendfsync",
      layout.appendfsync ?? "always",
      "--save",
      "",
      "--daemonize",
      "no",
      "--protected-mode",
      "yes",
    ],
  };
}

export function redisReady(layout: RedisLayout): () => Promise<boolean> {
  return () => redisPong(layout.port);
}

/** redis-server flushes the AOF and exits 0 on SIGTERM. */
export const REDIS_STOP_SIGNAL: Deno.Signal = "SIGTERM";
