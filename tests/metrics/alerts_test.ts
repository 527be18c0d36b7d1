/**
 * deploy/prometheus/: the scrape configuration and the alert rules are valid
 * for Prometheus (`promtool check config`, `check rules`), the alerts behave
 * as their unit tests say (`promtool test rules alerts_test.yml`: each alert
 * silent before its `for` has elapsed or on a healthy series, firing with the
 * expected labels after), and every alert reads only families documented in
 * docs/metrics.md. The scrape configuration names every engine and function
 * service of compose.yaml.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { parse } from "yaml";
import { requires } from "../harness/permissions.ts";
import { promtool } from "./_promtool.ts";
import { documentedFamilies } from "./_docs.ts";
import { familyOf, seriesNames } from "./_promql.ts";

const DIR = new URL("../../deploy/prometheus/", import.meta.url).pathname;
const PERMS = ["read", "run", "env"] as const;

interface RuleFile {
  groups: Array<{ name: string; rules: Array<{ alert?: string; expr: string }> }>;
}

function ruleFile(): RuleFile {
  return parse(Deno.readTextFileSync(`${DIR}alerts.yml`)) as RuleFile;
}

requires({
  name: "prometheus: promtool accepts prometheus.yml and alerts.yml",
  permissions: PERMS,
  async fn() {
    const config = await promtool(["check", "config", "prometheus.yml"], { cwd: DIR });
    assertEquals(config.code, 0, config.output);
    const rules = await promtool(["check", "rules", "alerts.yml"], { cwd: DIR });
    assertEquals(rules.code, 0, rules.output);
    assert(/SUCCESS: \d+ rules found/.test(rules.output), rules.output);
  },
});

requires({
  name: "prometheus: the alert unit tests pass (promtool test rules)",
  permissions: PERMS,
  async fn() {
    const result = await promtool(["test", "rules", "alerts_test.yml"], { cwd: DIR });
    assertEquals(result.code, 0, result.output);
    assert(result.output.includes("SUCCESS"), result.output);
  },
});

requires({
  name: "prometheus: the main alerts exist, each with a unit test, reading documented families",
  permissions: PERMS,
  async fn() {
    const alerts = ruleFile().groups.flatMap((g) => g.rules).filter((r) => r.alert);
    const names = alerts.map((r) => r.alert!);
    for (
      const wanted of [
        "RegionDown",
        "RelayIndependentTooLong",
        "TemplateStale",
        "EventsBehind",
        "EventSeqGaps",
        "BlockSubmissionFailed",
      ]
    ) assert(names.includes(wanted), `alerts.yml has no ${wanted}`);
    // deno-lint-ignore no-explicit-any
    const tests = parse(Deno.readTextFileSync(`${DIR}alerts_test.yml`)) as any;
    const tested = new Set<string>(
      tests.tests.flatMap((t: { alert_rule_test: Array<{ alertname: string }> }) =>
        t.alert_rule_test.map((a) => a.alertname)
      ),
    );
    assertEquals(names.filter((n) => !tested.has(n)), [], "alerts without a unit test");

    const documented = await documentedFamilies();
    documented.add("up"); // Prometheus' own per-target series
    const unknown = alerts.flatMap((r) =>
      seriesNames(r.expr).map((s) => familyOf(s, documented)).filter((f) => !documented.has(f))
        .map((f) => `${r.alert}: ${f}`)
    );
    assertEquals(unknown, [], "alert expressions name families not in docs/metrics.md");
  },
});

requires({
  name: "prometheus: prometheus.yml scrapes every engine and function service of compose.yaml",
  permissions: PERMS,
  fn() {
    // deno-lint-ignore no-explicit-any
    const config = parse(Deno.readTextFileSync(`${DIR}prometheus.yml`)) as any;
    const targets = new Map<string, Record<string, string>>();
    for (const job of config.scrape_configs) {
      for (const sc of job.static_configs) {
        for (const t of sc.targets) targets.set(t, { job: job.job_name, ...sc.labels });
      }
    }
    // Service names and listen addresses only: no interpolation needed.
    const composeText = Deno.readTextFileSync(new URL("../../compose.yaml", import.meta.url));
    // deno-lint-ignore no-explicit-any
    const compose = parse(composeText, { merge: true }) as any;
    const wanted: string[] = [];
    for (const [name, s] of Object.entries(compose.services)) {
      // deno-lint-ignore no-explicit-any
      const env = (s as any).environment ?? {};
      if (name.startsWith("ckpool-")) wanted.push(`${name}:9100`);
      for (const key of ["PUBLISHER_METRICS_LISTEN", "COLLECTOR_METRICS_LISTEN", "HEALTH_LISTEN"]) {
        if (env[key]) wanted.push(`${name}:${String(env[key]).split(":").pop()}`);
      }
    }
    assert(wanted.length >= 8, `found ${wanted.length} services with /metrics`);
    const missing = wanted.filter((t) => !targets.has(t));
    assertEquals(missing, [], "compose services prometheus.yml does not scrape");
    for (const t of wanted.filter((t) => t.startsWith("ckpool-") || t.includes("publisher"))) {
      assert(targets.get(t)!.region, `${t} has no region label`);
    }
  },
});
