/**
 * 10,000 Stratum connections opened and dropped in a loop, 64 at a time:
 * closed at once, after half a line, after a request whose answer is never
 * read, and after a read answer. The engine's connection count (/metrics)
 * and open descriptors (/proc) return to their baseline, its memory stays
 * bounded, and honest miners keep mining throughout.
 */

import { assert, assertEquals } from "../assert.ts";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { waitFor } from "../../lib/ports.ts";
import {
  HonestMiners,
  MemoryWatch,
  metric,
  openFds,
  printRtts,
  withHostileEngine,
} from "./hostile.ts";

const TOTAL = 10_000;
const CONCURRENCY = 64;
const SUBSCRIBE = new TextEncoder().encode(
  '{"id":1,"method":"mining.subscribe","params":["churn/1.0"]}\n',
);

/** One connection's life, by kind (i % 4). */
async function churnOnce(port: number, i: number) {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    switch (i % 4) {
      case 1:
        await conn.write(SUBSCRIBE.subarray(0, 20));
        break;
      case 2:
        await conn.write(SUBSCRIBE);
        break;
      case 3: {
        await conn.write(SUBSCRIBE);
        await conn.read(new Uint8Array(4096));
        break;
      }
    }
  } catch {
    // a reset while dropping is fine
  } finally {
    conn.close();
  }
}

requires({
  name: "hostile: 10,000 connections opened and dropped; connections and fds return to baseline",
  permissions: SERVICE_PERMISSIONS,
  standInOnly: "-testbits",
  fn: () =>
    withHostileEngine({}, async (engine) => {
      const pid = engine.process.pid;
      const memory = new MemoryWatch(engine);
      const honest = await HonestMiners.start(engine, 2);
      await waitFor(() => honest.accepted("before") >= 20, { what: "shares before the churn" });
      const baseFds = openFds(pid);
      const baseTotal = await metric(engine, "ckpool_connections_total");
      assertEquals(await metric(engine, "ckpool_connections"), 2);
      memory.mark("before");
      honest.phase = "during";

      let next = 0;
      let peakFds = baseFds;
      let peakConns = 0;
      const started = performance.now();
      const worker = async () => {
        while (next < TOTAL) await churnOnce(engine.stratumPort, next++);
      };
      const sampling = (async () => {
        while (next < TOTAL) {
          peakFds = Math.max(peakFds, openFds(pid));
          peakConns = Math.max(peakConns, await metric(engine, "ckpool_connections"));
          if (next > TOTAL / 2 && memory.points < 2) memory.mark("during");
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
      })();
      await Promise.all(Array.from({ length: CONCURRENCY }, worker));
      const seconds = (performance.now() - started) / 1000;
      await sampling;
      honest.phase = "after";

      await waitFor(async () => (await metric(engine, "ckpool_connections")) === 2, {
        what: "the connection count back at the 2 honest miners",
      });
      await waitFor(() => openFds(pid) <= baseFds, {
        what: `the engine's descriptors back at ${baseFds}`,
      });
      const accepted = await metric(engine, "ckpool_connections_total") - baseTotal;
      assert(accepted >= TOTAL, `${accepted} connections accepted`);
      await waitFor(() => honest.accepted("after") >= 10, { what: "shares after the churn" });
      memory.mark("after");
      const rtts = await honest.stop();
      console.log(
        `churn: ${TOTAL} connections (${CONCURRENCY} at a time) in ${seconds.toFixed(1)} s, ` +
          `${(TOTAL / seconds).toFixed(0)}/s; engine fds ${baseFds} -> peak ${peakFds} -> ` +
          `${openFds(pid)}; ckpool_connections peak ${peakConns}, back to 2`,
      );
      printRtts("churn", rtts);
      memory.assertBounded("churn", 32);
    }),
});
