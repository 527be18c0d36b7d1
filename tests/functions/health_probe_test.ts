/** Health probes: a stalled body is unreachable; Stratum must answer mining.subscribe. */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { checkEngineHealth, checkStratum } from "../../functions/health/probe.ts";
import { requires } from "../harness/permissions.ts";

requires({
  name: "health probe: headers then a stalled body count as unreachable, not 'not JSON'",
  permissions: ["net"],
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const streams: ReadableStreamDefaultController<Uint8Array>[] = [];
    const server = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen: () => {} },
      () =>
        new Response(
          new ReadableStream<Uint8Array>({
            start(controller) {
              controller.enqueue(new TextEncoder().encode('{"status":'));
              streams.push(controller);
            },
          }),
          { headers: { "content-type": "application/json" } },
        ),
    );
    try {
      const result = await checkEngineHealth(`http://127.0.0.1:${server.addr.port}/health`, 300);
      assertEquals(result.engine, "unreachable");
      assertEquals(result.reasons[0].startsWith("health unreachable"), true);
    } finally {
      for (const c of streams) c.close();
      await server.shutdown();
    }
  },
});

function stratumServer(reply: (line: string) => string | undefined) {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        conns.push(conn);
        void (async () => {
          const buf = new Uint8Array(4096);
          const n = await conn.read(buf).catch(() => null);
          if (n === null) return;
          const answer = reply(new TextDecoder().decode(buf.subarray(0, n)));
          if (answer !== undefined) {
            await conn.write(new TextEncoder().encode(answer)).catch(() => {});
          }
        })();
      }
    } catch {
      // closed
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      listener.close();
      for (const c of conns) {
        try {
          c.close();
        } catch {
          // closed
        }
      }
      await accepting;
    },
  };
}

requires({
  name: "health probe: Stratum is up only when mining.subscribe gets a JSON reply in time",
  permissions: ["net"],
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const answering = stratumServer((line) => {
      const { id, method } = JSON.parse(line.trim());
      return method === "mining.subscribe"
        ? `${JSON.stringify({ id, result: [[], "00", 8], error: null })}\n`
        : undefined;
    });
    // A frozen engine: the kernel completes the handshake, nothing ever answers.
    const frozen = stratumServer(() => undefined);
    const garbage = stratumServer(() => "HTTP/1.1 400 Bad Request\n");
    try {
      assertEquals(await checkStratum("127.0.0.1", answering.port, 2_000), { open: true });
      const silent = await checkStratum("127.0.0.1", frozen.port, 300);
      assertEquals(silent, { open: false, error: "no mining.subscribe reply (timeout)" });
      const bad = await checkStratum("127.0.0.1", garbage.port, 2_000);
      assertEquals(bad, { open: false, error: "stratum reply is not JSON" });
    } finally {
      await Promise.all([answering.close(), frozen.close(), garbage.close()]);
    }
  },
});
