/**
 * Every /metrics page the project serves, scraped from the real processes
 * (tests/metrics/_fixture.ts: primary and relay engines, publisher, collector,
 * health monitor):
 * - passes `promtool check metrics` with no finding (Prometheus naming and
 *   format conventions: base units, `_total` only on counters...);
 * - the collector's per-source gauges keep one series per pool_instance
 *   however often an engine restarts (no boot_id label);
 * - docs cannot drift: every family any page exposes is in docs/metrics.md,
 *   and every event type the engine emits is in docs/events.md.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { promtool } from "./_promtool.ts";
import { scrape, startMetricsFixture } from "./_fixture.ts";
import {
  documentedEventTypes,
  documentedFamilies,
  emittedEventTypes,
  exposedFamilies,
} from "./_docs.ts";

requires({
  name: "metrics: every /metrics page passes promtool; its families and the events are documented",
  permissions: SERVICE_PERMISSIONS,
  unstableNet: true,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn(t) {
    const fixture = await startMetricsFixture();
    try {
      for (const target of fixture.targets) {
        await t.step(`promtool check metrics: ${target.name}`, async () => {
          const page = await scrape(target.url);
          const result = await promtool(["check", "metrics"], { stdin: page });
          assertEquals(
            { code: result.code, output: result.output },
            { code: 0, output: "" },
            `${target.name} (${target.url}):\n${result.output}`,
          );
        });
      }

      await t.step(
        "collector: one seq series per pool_instance across engine restarts",
        async () => {
          const collector = fixture.targets.find((x) => x.name === "collector")!;
          const page = await scrape(collector.url);
          const series = page.split("\n").filter((l) =>
            l.startsWith("collector_seq_highest{") && l.includes(fixture.fakePoolInstance)
          );
          // Two boots sent seq 1..2, then 1..4, then the first's late 3: the second shows.
          assertEquals(series, [
            `collector_seq_highest{pool_instance="${fixture.fakePoolInstance}",region="us-east"} 4`,
          ]);
          assert(!page.includes("boot_id="), "no boot_id label on any collector series");
          const health = await (await fetch(collector.url.replace("/metrics", "/health"))).json();
          const boots = health.current_boots as Record<string, string>;
          assertEquals(
            boots[fixture.fakePoolInstance],
            fixture.secondBootId,
            JSON.stringify(health),
          );
        },
      );

      const engines = fixture.targets.filter((x) => x.name.startsWith("engine"));
      await t.step("docs/metrics.md documents every family each page exposes", async () => {
        const documented = await documentedFamilies();
        assert(!documented.has("ckpool_relay_link_down_ms"), "renamed names are not documented");
        for (const target of fixture.targets) {
          const exposed = exposedFamilies(await scrape(target.url));
          assert(exposed.length >= 7, `${target.name} exposes ${exposed.length} families`);
          const missing = exposed.filter((name) => !documented.has(name));
          assertEquals(missing, [], `${target.name}: families not in docs/metrics.md`);
        }
        // The relay side really ran: its link families are among those checked.
        const relay = exposedFamilies(await scrape(engines[1].url));
        assert(relay.includes("ckpool_relay_template_latency_seconds"), relay.join(" "));
        const primary = exposedFamilies(await scrape(engines[0].url));
        assert(primary.includes("ckpool_relay_peer_rtt_seconds"), primary.join(" "));
      });

      await t.step("docs/events.md documents every event type the engine emits", async () => {
        const documented = await documentedEventTypes();
        const emitted = await emittedEventTypes(engines.map((e) => e.url));
        assert(emitted.includes("share_submitted") && emitted.includes("relay_mode_changed"));
        const missing = emitted.filter((type) => !documented.has(type));
        assertEquals(missing, [], "event types not in docs/events.md");
      });
    } finally {
      await fixture.close();
    }
  },
});
