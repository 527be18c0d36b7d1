/**
 * Health monitor as a subprocess against a fake engine (HTTP /health and
 * /metrics plus a TCP "Stratum" listener): stopped -> down within two poll
 * intervals and 503; started again -> healthy.
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { requires } from "../harness/permissions.ts";
import { freePort, waitFor } from "../../lib/ports.ts";
import { spawnHealth, waitHealthy } from "../../lib/harness/functions.ts";

const POLL_SECONDS = 0.2;

/** Answers the monitor's `mining.subscribe` like the engine, then closes. */
async function answerSubscribe(conn: Deno.Conn): Promise<void> {
  try {
    const buf = new Uint8Array(4096);
    let text = "";
    while (!text.includes("\n")) {
      const n = await conn.read(buf);
      if (n === null) return;
      text += new TextDecoder().decode(buf.subarray(0, n));
    }
    const { id } = JSON.parse(text.slice(0, text.indexOf("\n")));
    const reply = { id, result: [[["mining.notify", "1"]], "00000001", 8], error: null };
    await conn.write(new TextEncoder().encode(`${JSON.stringify(reply)}\n`));
  } catch {
    // the monitor went away
  } finally {
    try {
      conn.close();
    } catch {
      // closed
    }
  }
}

class FakeEngine {
  #http: Deno.HttpServer | undefined;
  #stratum: Deno.Listener | undefined;
  #accepting: Promise<void> | undefined;
  status: "ok" | "degraded" | "down" = "ok";
  constructor(readonly httpPort: number, readonly stratumPort: number) {}
  start() {
    this.#http = Deno.serve(
      { hostname: "127.0.0.1", port: this.httpPort, onListen: () => {} },
      (req) => {
        const path = new URL(req.url).pathname;
        if (path === "/health") {
          return Response.json({
            status: this.status,
            reasons: this.status === "ok" ? [] : ["relay in independent mode"],
          }, {
            status: this.status === "down" ? 503 : 200,
          });
        }
        return new Response(
          "# TYPE ckpool_template_height gauge\nckpool_template_height 812345\nckpool_template_age_seconds 7.5\nckpool_miners_connected 42\n",
        );
      },
    );
    this.#stratum = Deno.listen({ hostname: "127.0.0.1", port: this.stratumPort });
    const listener = this.#stratum;
    this.#accepting = (async () => {
      try {
        for await (const conn of listener) void answerSubscribe(conn);
      } catch {
        // closed
      }
    })();
  }
  async stop() {
    this.#stratum?.close();
    await this.#accepting;
    await this.#http?.shutdown();
  }
}

requires({
  name: "health: region down within two polls when the engine stops, healthy when it returns",
  permissions: ["net", "run", "read", "write", "env"],
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tbg-health-" });
    const engine = new FakeEngine(freePort(), freePort());
    engine.start();
    const port = freePort();
    const regions = [{
      name: "us-east",
      health_url: `http://127.0.0.1:${engine.httpPort}/health`,
      metrics_url: `http://127.0.0.1:${engine.httpPort}/metrics`,
      stratum: `127.0.0.1:${engine.stratumPort}`,
    }];
    const proc = spawnHealth(
      { REGIONS: JSON.stringify(regions), POLL_INTERVAL: String(POLL_SECONDS) },
      port,
      `${dir}/health.log`,
    );
    const get = async (path: string) => {
      const res = await fetch(`http://127.0.0.1:${port}${path}`);
      return { status: res.status, body: path === "/" ? await res.text() : await res.json() };
    };
    const polls = async () => {
      const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      return Number(/^health_polls_total (\d+)$/m.exec(text)?.[1] ?? NaN);
    };
    try {
      await waitHealthy(port, proc);
      const healthy = await waitFor(async () => {
        const r = await get("/health/us-east");
        return r.body.status === "healthy" ? r : undefined;
      });
      assertEquals([healthy.status, healthy.body.template_height, healthy.body.miners_connected], [
        200,
        812345,
        42,
      ]);
      assertEquals((await get("/health/nowhere")).status, 404);
      const page = await get("/");
      assertEquals([page.body.includes("us-east"), page.body.includes("812345")], [true, true]);

      engine.status = "degraded";
      await waitFor(async () => (await get("/health/us-east")).body.status === "degraded");
      assertEquals((await get("/health/us-east")).status, 200);

      const pollsBefore = await polls();
      await engine.stop();
      const down = await waitFor(async () => {
        const r = await get("/health/us-east");
        return r.body.status === "down" ? r : undefined;
      }, { intervalMs: 10 });
      // Counted in polling rounds, not wall time: the round in flight when the
      // engine stopped may still see it up; the next two must see it down.
      const rounds = (await polls()) - pollsBefore;
      assertEquals({ status: down.status, withinTwoPolls: rounds <= 3 }, {
        status: 503,
        withinTwoPolls: true,
      });
      assertEquals((await get("/health")).body.status, "down");

      engine.status = "ok";
      engine.start();
      await waitFor(async () => (await get("/health/us-east")).body.status === "healthy");
      assertEquals((await get("/health")).status, 200);
      const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
      assertEquals(
        metrics.includes('health_region_status{region="us-east",status="healthy"} 1'),
        true,
      );
      const log = proc.log();
      assertEquals(/"msg":"region status changed".*"from":"degraded","to":"down"/.test(log), true);
    } finally {
      await proc.stop();
      await engine.stop().catch(() => {});
      await Deno.remove(dir, { recursive: true });
    }
  },
});
