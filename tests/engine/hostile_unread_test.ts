/**
 * Miners that authorize and then never read a reply: they keep asking for
 * big answers (mining.configure echoes every unknown extension, ~14 KB)
 * until the kernel's socket buffers are full and the engine holds the rest.
 * Each is dropped once it would hold more than max_pending_bytes (the
 * default, 1 MiB): /metrics shows the unsent bytes bounded and counts the
 * drops, the log names them, and honest miners keep mining.
 */

import { assert, assertEquals } from "../assert.ts";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { waitFor } from "../../lib/ports.ts";
import { regtestAddress } from "../../lib/harness/stratum_miner.ts";
import { HonestMiners, MemoryWatch, metric, printRtts, withHostileEngine } from "./hostile.ts";

const READERS = 4;
const MAX_PENDING = 1 << 20; // the engine's default max_pending_bytes
const encoder = new TextEncoder();

function request(id: number, method: string, params: unknown[]) {
  return encoder.encode(JSON.stringify({ id, method, params }) + "\n");
}

const extensions = Array.from({ length: 200 }, (_, i) => `ext-${i}-${"u".repeat(50)}`);
const CONFIGURE = request(3, "mining.configure", [extensions, {}]);
/** 40 requests every 100 ms: 400/s, under the default request rate of 500/s. */
const BATCH = new Uint8Array(CONFIGURE.length * 40);
for (let i = 0; i < 40; i++) BATCH.set(CONFIGURE, i * CONFIGURE.length);

/** Subscribes, authorizes and asks for answers without ever reading; returns once cut off. */
async function neverRead(port: number): Promise<{ sentMiB: number }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  let sent = 0;
  try {
    await conn.write(request(1, "mining.subscribe", ["deaf/1.0"]));
    await conn.write(request(2, "mining.authorize", [regtestAddress(), "x"]));
    // Bounded: 60 s at most; the engine's close makes a write fail long before.
    for (let round = 0; round < 600; round++) {
      sent += await conn.write(BATCH);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  } catch {
    // reset or broken pipe: the engine dropped us
  } finally {
    conn.close();
  }
  return { sentMiB: sent / (1 << 20) };
}

requires({
  name: "hostile: clients that never read are dropped at max_pending_bytes; miners keep mining",
  permissions: SERVICE_PERMISSIONS,
  standInOnly: "-testbits",
  fn: () =>
    withHostileEngine({}, async (engine) => {
      const memory = new MemoryWatch(engine);
      const honest = await HonestMiners.start(engine, 2);
      await waitFor(() => honest.accepted("before") >= 20, { what: "shares before the abuse" });
      memory.mark("before");
      const abuseBefore = await metric(engine, 'ckpool_connections_dropped_total{reason="abuse"}');
      honest.phase = "during";

      let done = false;
      let peakPending = 0;
      const sampling = (async () => {
        while (!done) {
          const pending = await metric(engine, "ckpool_stratum_pending_bytes");
          if (pending > peakPending) {
            peakPending = pending;
            if (memory.points === 1 && pending > MAX_PENDING) memory.mark("during");
          }
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      })();
      const started = performance.now();
      const readers = await Promise.all(
        Array.from({ length: READERS }, () => neverRead(engine.stratumPort)),
      );
      const seconds = (performance.now() - started) / 1000;
      done = true;
      await sampling;
      if (memory.points === 1) memory.mark("during");
      honest.phase = "after";

      await waitFor(
        async () =>
          (await metric(engine, 'ckpool_connections_dropped_total{reason="abuse"}')) -
              abuseBefore >= READERS,
        { what: `${READERS} drops for abuse in /metrics` },
      );
      // The count is the metric's (above). Abuse warnings are rate limited
      // (20 per 10 s, engine-wide), so the log is asked only to name the
      // peer and the reason, with a bound generous enough for ASan under load.
      await waitFor(
        () =>
          engine.logLines().find((l) =>
            l.msg === "closing connection" && l.ip === "127.0.0.1" &&
            String(l.reason).startsWith(SLOW)
          ),
        { timeoutMs: 60_000, what: "a slow-reader close in the log, with the peer's ip" },
      );
      await waitFor(async () => (await metric(engine, "ckpool_connections")) === 2, {
        what: "only the honest miners connected",
      });
      assertEquals(await metric(engine, "ckpool_stratum_pending_bytes"), 0);
      assert(
        peakPending <= READERS * MAX_PENDING,
        `unsent bytes peaked at ${peakPending}, over ${READERS} x max_pending_bytes`,
      );
      await waitFor(() => honest.accepted("after") >= 10, { what: "shares after the abuse" });
      memory.mark("after");
      const rtts = await honest.stop();
      const sent = readers.map((r) => r.sentMiB.toFixed(1)).join(", ");
      console.log(
        `never-read: ${READERS} deaf miners dropped within ${seconds.toFixed(1)} s after ` +
          `sending ${sent} MiB of requests each; engine-held unsent bytes peaked at ` +
          `${(peakPending / (1 << 20)).toFixed(2)} MiB (bound ${READERS} x 1 MiB), now 0`,
      );
      printRtts("never-read", rtts);
      memory.assertBounded("never-read", 48);
    }),
});

/** Both slow-reader limits: the connection's own and the engine-wide budget. */
const SLOW = "slow reader";
