/**
 * deploy/grafana/dashboards/*.json: each parses as a Grafana dashboard, has
 * the panels an operator needs per region, and every PromQL expression (panel
 * targets and template variable queries) parses (`promtool check rules` on
 * the expressions as recording rules) and reads only families documented in
 * docs/metrics.md.
 */

import { deepStrictEqual as assertEquals, ok as assert } from "node:assert/strict";
import { requires } from "../harness/permissions.ts";
import { promtool } from "./_promtool.ts";
import { documentedFamilies } from "./_docs.ts";
import { familyOf, seriesNames } from "./_promql.ts";

const DIR = new URL("../../deploy/grafana/dashboards/", import.meta.url).pathname;
const PERMS = ["read", "write", "run", "env"] as const;

interface Panel {
  title: string;
  targets?: Array<{ expr: string }>;
  panels?: Panel[];
}

interface Dashboard {
  uid: string;
  title: string;
  panels: Panel[];
  templating?: { list: Array<{ name: string; query: string | { query: string } }> };
}

function dashboards(): Array<[string, Dashboard]> {
  return [...Deno.readDirSync(DIR)].filter((e) => e.name.endsWith(".json"))
    .map((e) => [e.name, JSON.parse(Deno.readTextFileSync(`${DIR}${e.name}`)) as Dashboard]);
}

/** [where, PromQL] for every panel target and template query of a dashboard. */
function expressions(d: Dashboard): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  const walk = (panels: Panel[]) => {
    for (const p of panels) {
      for (const t of p.targets ?? []) out.push([`panel "${p.title}"`, t.expr]);
      walk(p.panels ?? []);
    }
  };
  walk(d.panels);
  for (const v of d.templating?.list ?? []) {
    const q = typeof v.query === "string" ? v.query : v.query.query;
    // label_values(metric, label): the metric is the expression.
    const m = /^label_values\((.+),\s*[a-zA-Z_]\w*\)$/.exec(q);
    out.push([`variable $${v.name}`, m ? m[1] : q]);
  }
  return out;
}

requires({
  name: "grafana: the dashboard has the per-region panels and reads only documented families",
  permissions: PERMS,
  async fn() {
    const all = dashboards();
    assert(all.length >= 1, `no dashboard in ${DIR}`);
    const documented = await documentedFamilies();
    for (const [file, d] of all) {
      assert(d.uid && d.title && Array.isArray(d.panels), `${file} is not a dashboard`);
      const exprs = expressions(d);
      const text = exprs.map(([, e]) => e).join("\n");
      for (
        const family of [
          "ckpool_miners_connected",
          "ckpool_share_difficulty_accepted_total",
          "ckpool_shares_total",
          "ckpool_shares_rejected_total",
          "ckpool_blocks_found_total",
          "ckpool_relay_template_latency_seconds",
          "collector_commit_lag_seconds",
        ]
      ) assert(text.includes(family), `${file}: no panel reads ${family}`);
      assert(text.includes("by (region"), `${file}: nothing is split by region`);

      const unknown = exprs.flatMap(([where, e]) =>
        seriesNames(e).map((s) => familyOf(s, documented)).filter((f) => !documented.has(f))
          .map((f) => `${where}: ${f}`)
      );
      assertEquals(unknown, [], `${file}: families not in docs/metrics.md`);

      // Every expression parses: promtool checks them as recording rules.
      const rules = exprs.map(([, e], i) => ({ record: `dashboard:expr_${i}`, expr: e }));
      const path = await Deno.makeTempFile({ suffix: ".yml" });
      try {
        await Deno.writeTextFile(path, JSON.stringify({ groups: [{ name: file, rules }] }));
        const result = await promtool(["check", "rules", path]);
        assertEquals(result.code, 0, `${file}:\n${result.output}`);
      } finally {
        await Deno.remove(path);
      }
    }
  },
});

requires({
  name: "grafana: the PromQL name scan finds series and rejects an undocumented one",
  permissions: ["read"],
  async fn() {
    assertEquals(
      seriesNames(
        'sum by (region, reason) (rate(ckpool_shares_rejected_total{region=~"$region"}[5m])) > 0',
      ),
      ["ckpool_shares_rejected_total"],
    );
    assertEquals(
      seriesNames("a_total / on (instance) group_left b_seconds_bucket * 1e6 offset 5m"),
      ["a_total", "b_seconds_bucket"],
    );
    const documented = await documentedFamilies();
    assertEquals(
      familyOf("ckpool_bitcoind_rpc_latency_seconds_bucket", documented),
      "ckpool_bitcoind_rpc_latency_seconds",
    );
    assert(!documented.has(familyOf("ckpool_relay_rtt_ms", documented)));
  },
});
