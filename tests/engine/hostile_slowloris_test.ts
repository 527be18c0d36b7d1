/**
 * Slowloris on Stratum: clients that send one byte per second of a line
 * that never ends. Before authorizing they are cut at handshake_timeout_s;
 * after authorizing at idle_timeout_s, because only a whole line counts as
 * activity. Honest miners keep getting shares accepted throughout.
 */

import { assert, assertEquals } from "../assert.ts";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { waitFor } from "../../lib/ports.ts";
import { connectMiner, regtestAddress } from "../../lib/harness/stratum_miner.ts";
import {
  HonestMiners,
  MemoryWatch,
  metric,
  pause,
  printRtts,
  withHostileEngine,
} from "./hostile.ts";

const EACH = 10;
const encoder = new TextEncoder();

/** Writes `text` one byte a second until the engine closes; seconds it lasted. */
async function trickle(conn: Deno.TcpConn, text: string, closed: Promise<unknown>) {
  const started = performance.now();
  let gone = false;
  closed.then(() => (gone = true));
  const bytes = encoder.encode(text);
  for (let i = 0; !gone; i = (i + 1) % bytes.length) {
    try {
      await conn.write(bytes.subarray(i, i + 1));
    } catch {
      break; // reset by the engine
    }
    await pause(1000, closed);
  }
  await closed;
  return (performance.now() - started) / 1000;
}

/** Resolves when the server closes conn (EOF or reset). */
async function serverCloses(conn: Deno.TcpConn): Promise<void> {
  const buf = new Uint8Array(4096);
  try {
    while ((await conn.read(buf)) !== null) {
      // a slowloris never finishes a request: nothing should come, drain anyway
    }
  } catch {
    // reset counts as closed
  }
}

requires({
  name: "hostile: slowloris clients (1 byte/s) are dropped by the timeouts; miners keep mining",
  permissions: SERVICE_PERMISSIONS,
  standInOnly: "-testbits",
  fn: () =>
    // Seconds, not less: an honest miner must authorize within the handshake
    // timeout even on a busy machine; the honest loop sends a line every 100 ms.
    withHostileEngine({ handshake_timeout_s: 3, idle_timeout_s: 5 }, async (engine) => {
      const memory = new MemoryWatch(engine);
      const honest = await HonestMiners.start(engine, 2);
      await waitFor(() => honest.accepted("before") >= 20, { what: "shares before the abuse" });
      memory.mark("before");
      const timeoutsBefore = await metric(
        engine,
        'ckpool_connections_dropped_total{reason="timeout"}',
      );
      honest.phase = "during";

      // Never authorized: a subscribe request, one byte a second.
      const early = await Promise.all(
        Array.from({ length: EACH }, async () => {
          const conn = await Deno.connect({ hostname: "127.0.0.1", port: engine.stratumPort });
          const closed = serverCloses(conn);
          const line = '{"id":1,"method":"mining.subscribe","params":["slow/1.0"]}\n';
          return { conn, lasted: trickle(conn, line, closed) };
        }),
      );
      // Authorized first, then a submit that never ends.
      const late = await Promise.all(
        Array.from({ length: EACH }, async () => {
          const { client } = await connectMiner(engine, regtestAddress());
          const started = performance.now();
          const text = encoder.encode(
            '{"id":9,"method":"mining.submit","params":["' + "a".repeat(64),
          );
          const lasted = (async () => {
            let gone = false;
            client.closed.then(() => (gone = true));
            for (let i = 0; !gone && i < text.length; i++) {
              await client.sendLine(text.subarray(i, i + 1)).catch(() => {});
              await pause(1000, client.closed);
            }
            assertEquals((await client.closed).by, "server");
            return (performance.now() - started) / 1000;
          })();
          return { client, lasted };
        }),
      );
      const connected = await metric(engine, "ckpool_connections");
      memory.mark("during");
      assert(connected >= 2 + EACH, `${connected} connections while the slowloris runs`);

      const earlyLasted = await Promise.all(early.map((e) => e.lasted));
      const lateLasted = await Promise.all(late.map((l) => l.lasted));
      for (const e of early) e.conn.close();
      honest.phase = "after";
      await waitFor(async () => (await metric(engine, "ckpool_connections")) === 2, {
        what: "only the honest miners connected",
      });
      const dropped = await metric(engine, 'ckpool_connections_dropped_total{reason="timeout"}') -
        timeoutsBefore;
      assertEquals(dropped, 2 * EACH, "every slowloris dropped for a timeout");
      // Authorized clients are logged when they go (unauthorized ones at debug level).
      await waitFor(
        () => engine.logLines().filter((l) => l.reason === "idle timeout").length >= EACH,
        { what: "the idle-timeout closes in the log" },
      );
      await waitFor(() => honest.accepted("after") >= 10, { what: "shares after the abuse" });
      memory.mark("after");
      const rtts = await honest.stop();
      const fmt = (xs: number[]) => `${Math.min(...xs).toFixed(1)}-${Math.max(...xs).toFixed(1)} s`;
      console.log(
        `slowloris: ${EACH} before authorize lasted ${fmt(earlyLasted)} (handshake 3 s), ` +
          `${EACH} after authorize ${fmt(lateLasted)} (idle 5 s)`,
      );
      printRtts("slowloris", rtts);
      memory.assertBounded("slowloris", 32);
    }),
});
