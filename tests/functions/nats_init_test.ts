/** nats:init: idempotent, updates mutable settings, refuses an incompatible stream, clear when unreachable. */

import { deepStrictEqual as assertEquals, rejects } from "node:assert/strict";
import { DiscardPolicy, jetstreamManager, RetentionPolicy, StorageType } from "@nats-io/jetstream";
import { connect } from "@nats-io/transport-node";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { freePort } from "../../lib/ports.ts";
import { startNats } from "../../lib/harness/nats.ts";
import { initNats } from "../../nats/init.ts";
import {
  STREAM_DUPLICATE_WINDOW_NS,
  STREAM_MAX_AGE_NS,
  STREAM_NAME,
} from "../../functions/lib/stream.ts";

requires({
  name: "nats:init: creates, is idempotent, updates, and rejects an incompatible stream",
  permissions: SERVICE_PERMISSIONS,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const nats = await startNats();
    const nc = await connect({ servers: nats.url });
    try {
      assertEquals(await initNats(nats.url), { stream: "created", consumer: "created" });
      assertEquals(await initNats(nats.url), { stream: "unchanged", consumer: "unchanged" });
      const jsm = await jetstreamManager(nc);
      const info = await jsm.streams.info(STREAM_NAME);
      // The brief's stream: 1 GiB cap, oldest events dropped first when it is full.
      assertEquals(
        [
          info.config.retention,
          info.config.storage,
          info.config.max_age,
          info.config.max_bytes,
          info.config.discard,
          info.config.duplicate_window,
          info.config.subjects,
        ],
        [
          RetentionPolicy.Workqueue,
          StorageType.File,
          STREAM_MAX_AGE_NS,
          1024 ** 3,
          DiscardPolicy.Old,
          STREAM_DUPLICATE_WINDOW_NS,
          ["mining.events.>"],
        ],
      );
      // A stream from before the cap (unlimited, discard new) is brought up to date.
      await jsm.streams.update(STREAM_NAME, {
        max_age: 3600 * 1e9,
        max_bytes: -1,
        discard: DiscardPolicy.New,
      });
      assertEquals((await initNats(nats.url)).stream, "updated");
      const updated = (await jsm.streams.info(STREAM_NAME)).config;
      assertEquals(
        [updated.max_age, updated.max_bytes, updated.discard],
        [STREAM_MAX_AGE_NS, 1024 ** 3, DiscardPolicy.Old],
      );

      await jsm.streams.delete(STREAM_NAME);
      await jsm.streams.add({
        name: STREAM_NAME,
        subjects: ["mining.events.>"],
        retention: RetentionPolicy.Limits,
        storage: StorageType.File,
      });
      await rejects(initNats(nats.url), /retention is 'limits', expected 'workqueue'/);
    } finally {
      await nc.close();
      await nats.stop();
    }
  },
});

requires({
  name: "nats:init: a clear error when NATS is unreachable",
  permissions: ["net"],
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const url = `nats://127.0.0.1:${freePort()}`;
    await rejects(initNats(url), new RegExp(`nats: cannot connect to ${url}`));
  },
});
