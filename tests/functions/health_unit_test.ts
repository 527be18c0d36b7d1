import { deepStrictEqual as assertEquals, throws } from "node:assert/strict";
import { evaluate, overall } from "../../functions/health/evaluate.ts";
import { loadHealthConfig } from "../../functions/health/config.ts";
import { fromRecord } from "../../functions/lib/config.ts";
import { parsePrometheus, sampleValue } from "../../functions/lib/metrics.ts";

Deno.test("health: status rules", () => {
  const s = (engine: "ok" | "degraded" | "down" | "unreachable", stratumOpen: boolean) =>
    evaluate({ engine, engineReasons: [], stratumOpen }).status;
  assertEquals(
    [
      s("ok", true),
      s("ok", false),
      s("degraded", true),
      s("degraded", false),
      s("down", true),
      s("unreachable", true),
      s("down", false),
      s("unreachable", false),
    ],
    ["healthy", "degraded", "degraded", "degraded", "degraded", "degraded", "down", "down"],
  );
  assertEquals([
    overall(["healthy", "healthy"]),
    overall(["healthy", "down"]),
    overall(["down", "down"]),
  ], ["healthy", "degraded", "down"]);
});

Deno.test("health: config errors name the input", () => {
  const load = (env: Record<string, string>) => () => loadHealthConfig(fromRecord(env));
  throws(load({}), /config: REGIONS \(JSON\) or REGIONS_FILE is required/);
  throws(load({ REGIONS: "[" }), /config: REGIONS is not valid JSON/);
  throws(load({ REGIONS: '[{"name":"EU"}]' }), /config: REGIONS\[0\]\.name must match/);
  const region = {
    name: "eu",
    health_url: "http://127.0.0.1:9100/health",
    metrics_url: "http://127.0.0.1:9100/metrics",
    stratum: "127.0.0.1:3333",
  };
  throws(
    load({ REGIONS: JSON.stringify([{ ...region, stratum: "x:0" }]) }),
    /REGIONS\[0\]\.stratum must be host:port/,
  );
  throws(
    load({ REGIONS: JSON.stringify([region]), POLL_INTERVAL: "soon" }),
    /config: POLL_INTERVAL must be a number/,
  );
  const ok = loadHealthConfig(fromRecord({ REGIONS: JSON.stringify([region]) }));
  assertEquals([ok.pollIntervalMs, ok.listen.port, ok.regions[0].stratum.port], [
    10_000,
    8090,
    3333,
  ]);
});

Deno.test("metrics: engine figures parse from Prometheus text", () => {
  const samples = parsePrometheus(
    '# HELP x\nckpool_template_height 812345\nckpool_miners_connected{region="eu"} 42\n',
  );
  assertEquals([
    sampleValue(samples, "ckpool_template_height"),
    sampleValue(samples, "ckpool_miners_connected"),
  ], [812345, 42]);
});
