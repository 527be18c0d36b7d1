/** A throwaway redis-server (append-only file, fsync on every write) on 127.0.0.1 for tests. */

import {
  REDIS_STOP_SIGNAL,
  redisCommand,
  redisReady,
} from "../../stack/supervisor/native/redis.ts";
import { launchService, type ServiceHandle, withPort } from "./service.ts";

export interface RedisOptions {
  /** Data directory (AOF); a temp dir (removed on stop) when omitted. */
  dir?: string;
  /** A free port when omitted. */
  port?: number;
  /** Defaults to `always`, so `kill()` loses no acknowledged write. */
  appendfsync?: "always" | "everysec";
}

export interface RedisServer extends ServiceHandle {
  /** `redis://127.0.0.1:<port>` */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
}

export function startRedis(options: RedisOptions = {}): Promise<RedisServer> {
  return withPort(options.port, async (port) => {
    const tmp = await Deno.makeTempDir({ prefix: "tbg-redis-" });
    const dir = options.dir ?? `${tmp}/data`;
    await Deno.mkdir(dir, { recursive: true });
    const layout = { dir, port, appendfsync: options.appendfsync ?? "always" };
    const handle = await launchService({
      name: "redis-server",
      command: () => redisCommand(layout),
      ready: redisReady(layout),
      stopSignal: REDIS_STOP_SIGNAL,
      logPath: `${tmp}/redis-server.log`,
      ownedDirs: [tmp],
    });
    return Object.assign(handle, { url: `redis://127.0.0.1:${port}`, port, dir });
  });
}
