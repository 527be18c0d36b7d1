/** Acknowledgements must not precede durability: Redis fsyncs every write, dedup outlives the stream. */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { redisCommand } from "../../stack/supervisor/native/redis.ts";
import { loadCollectorConfig } from "../../functions/collector/config.ts";
import { fromRecord as env } from "../../functions/lib/config.ts";
import { loadPublisherConfig } from "../../functions/publisher/config.ts";
import { requires } from "../harness/permissions.ts";

requires({
  name: "durability: redis appendfsync always (native and compose), dedup TTL >= 24 h",
  permissions: ["read", "env"],
  async fn() {
    const args = redisCommand({ dir: "/tmp/x", port: 6379 }).args ?? [];
    assertEquals(args[args.indexOf("--appendfsync") + 1], "always");
    const compose = await Deno.readTextFile(new URL("../../compose.yaml", import.meta.url));
    const line = compose.split("\n").find((l) => l.includes('"redis-server"')) ?? "";
    assertEquals(line.includes('"--appendfsync", "always"'), true);

    assertEquals(loadCollectorConfig(env({})).dedupTtlSeconds >= 86_400, true);
    let error: unknown;
    try {
      loadCollectorConfig(env({ REDIS_DEDUP_TTL_SECONDS: "3600" }));
    } catch (e) {
      error = e;
    }
    assertEquals(error instanceof Error, true);
    assertEquals(
      loadCollectorConfig(env({ REDIS_DEDUP_TTL_SECONDS: "86400" })).dedupTtlSeconds,
      86_400,
    );
  },
});

requires({
  name: "publisher config: segments default to and are capped at half the spool",
  permissions: ["env"],
  fn() {
    const MiB = 1 << 20;
    const small = loadPublisherConfig(env({ PUBLISHER_SPOOL_MAX_BYTES: String(MiB) }));
    assertEquals(small.segmentBytes, MiB / 2);
    assertEquals(loadPublisherConfig(env({})).segmentBytes, 64 * MiB);
    let error: unknown;
    try {
      loadPublisherConfig(
        env({ PUBLISHER_SPOOL_MAX_BYTES: String(MiB), PUBLISHER_SEGMENT_BYTES: String(MiB) }),
      );
    } catch (e) {
      error = e;
    }
    assertEquals(error instanceof Error, true);
  },
});
