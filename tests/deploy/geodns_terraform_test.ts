/**
 * The GeoDNS Terraform (deploy/terraform/route53, deploy/terraform/cloudflare)
 * parses, every reference in it resolves, and its health-check settings agree
 * with docs/geodns/ and with the health monitor: the interval is the monitor's
 * POLL_INTERVAL default, the checked path is one the monitor serves, the
 * Stratum port is the one the monitor probes, the failover orders are the
 * documented ones, and Cloudflare's monitor probes the address it answers.
 */

import assert from "node:assert/strict";
import { requires } from "../harness/permissions.ts";
import {
  loadModule,
  parseHcl,
  settingOf,
  type TfModule,
  unresolvedReferences,
} from "./_terraform.ts";
import { DEFAULT_POLL_INTERVAL_SECONDS, loadHealthConfig } from "../../functions/health/config.ts";
import { Monitor } from "../../functions/health/monitor.ts";
import { createApp } from "../../functions/health/app.ts";
import { createLogger } from "../../functions/lib/log.ts";
import { REGIONS } from "../../stack/topology_regions.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const ROUTE53 = `${REPO}deploy/terraform/route53`;
const CLOUDFLARE = `${REPO}deploy/terraform/cloudflare`;
const PERMS = ["read", "env"] as const;

type Body = Record<string, unknown>;

/** "The numbers" table of docs/geodns/health-checks.md: setting -> number. */
function documentedNumbers(): Record<string, number> {
  const text = Deno.readTextFileSync(`${REPO}docs/geodns/health-checks.md`);
  const start = text.indexOf("## The numbers");
  assert.ok(start >= 0, "health-checks.md has no 'The numbers' section");
  const rows: Record<string, number> = {};
  for (const line of text.slice(start).split("\n")) {
    const m = /^\| ([A-Za-z ]+) \| (\d+)(?: s)? \|/.exec(line);
    if (m) rows[m[1]] = Number(m[2]);
  }
  for (const key of ["check interval", "failure threshold", "record TTL", "Stratum port"]) {
    assert.ok(key in rows, `health-checks.md's table has no '${key}' row`);
  }
  return rows;
}

/** The failover table of docs/geodns/README.md as orders of monitor region names. */
function documentedOrders(): string[][] {
  const text = Deno.readTextFileSync(`${REPO}docs/geodns/README.md`);
  const start = text.indexOf("## Failover order");
  assert.ok(start >= 0, "README.md has no 'Failover order' section");
  const names = new Set(REGIONS.map((r) => r.name as string));
  return text.slice(start).split("\n")
    .map((line) => line.split("|").slice(2, 5).map((c) => c.trim()))
    .filter((cells) => cells.length === 3 && cells.every((c) => names.has(c)));
}

/** The monitor's configuration with Compose's region list and every other default. */
function monitorDefaults() {
  return loadHealthConfig(
    (name) => name === "REGIONS_FILE" ? `${REPO}config/health-regions.json` : undefined,
  );
}

function monitorRegions() {
  return monitorDefaults().regions;
}

async function tfvarsExample(module: TfModule): Promise<Record<string, unknown>> {
  const file = `${module.dir}/terraform.tfvars.example`;
  return await parseHcl("terraform.tfvars.example", await Deno.readTextFile(file));
}

function resource(module: TfModule, type: string, name: string): Body {
  const body = module.resources[type]?.[name];
  assert.ok(body, `${module.dir} has no resource ${type}.${name}`);
  return body as Body;
}

function sorted(values: Iterable<string>): string[] {
  return [...values].sort();
}

for (const dir of [ROUTE53, CLOUDFLARE]) {
  const name = dir.slice(dir.lastIndexOf("/") + 1);
  requires({
    name: `geodns terraform [${name}]: every reference resolves, tfvars.example fits the variables`,
    permissions: PERMS,
    async fn() {
      const module = await loadModule(dir);
      assert.deepEqual(unresolvedReferences(module), []);
      const tfvars = await tfvarsExample(module);
      for (const key of Object.keys(tfvars)) {
        assert.ok(key in module.variables, `terraform.tfvars.example sets unknown variable ${key}`);
      }
      for (const [key, variable] of Object.entries(module.variables)) {
        if (!("default" in variable)) {
          assert.ok(key in tfvars, `terraform.tfvars.example does not set ${key}`);
        }
      }
    },
  });
}

requires({
  name: "geodns terraform: the reference check reports what resolves to nothing",
  permissions: ["read", "write", "env"],
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tbg-tf-" });
    try {
      await Deno.writeTextFile(
        `${dir}/main.tf`,
        `variable "a" {
  type = string
}
locals {
  m = { x = 1 }
}
resource "aws_thing" "many" {
  for_each = local.m
  name     = "\${var.a}-\${each.key}"
}
resource "aws_other" "one" {
  a = var.missing
  b = local.nope
  c = aws_thing.many.id
  d = aws_thing.absent.id
  e = data.aws_ami.none.id
  f = each.key
  g = "\${aws_thing.many["x"].id}-\${var.a}"
  h = [for k, v in local.m : "\${k}=\${v}"]
  i = upper(blk.key)
  dynamic "blk" {
    for_each = local.m
    content {
      v = blk.value
    }
  }
}
`,
      );
      const problems = unresolvedReferences(await loadModule(dir));
      const expected = [
        ["a", "var.missing"],
        ["b", "local.nope"],
        ["c", "aws_thing.many.id"],
        ["d", "aws_thing.absent.id"],
        ["e", "data.aws_ami.none.id"],
        ["f", "each.key"],
        ["i", "blk.key"],
      ];
      assert.equal(problems.length, expected.length, problems.join("\n"));
      for (const [attr, ref] of expected) {
        assert.ok(
          problems.some((p) => p.startsWith(`resource.aws_other.one.${attr}: ${ref}:`)),
          `no problem reported for ${attr} = ${ref}:\n${problems.join("\n")}`,
        );
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

requires({
  name: "geodns terraform [route53]: checks and TTLs are the documented ones and the monitor's",
  permissions: PERMS,
  async fn() {
    const m = await loadModule(ROUTE53);
    const docs = documentedNumbers();
    const interval = docs["check interval"];
    // POLL_INTERVAL unset: the monitor polls at the DNS check interval.
    assert.equal(monitorDefaults().pollIntervalMs, interval * 1000, "monitor default interval");

    const monitor = resource(m, "aws_route53_health_check", "monitor");
    assert.equal(monitor.type, "HTTPS");
    assert.equal(settingOf(m, monitor, "port"), docs["monitor check port"]);
    assert.equal(monitor.resource_path, "/health/${each.value.monitor_region}");
    assert.equal(monitor.for_each, "${local.regions}");
    const tcp = resource(m, "aws_route53_health_check", "stratum_tcp");
    assert.equal(tcp.type, "TCP");
    assert.equal(tcp.ip_address, "${var.region_ips[each.key]}");
    assert.equal(settingOf(m, tcp, "port"), docs["Stratum port"]);
    for (const check of [monitor, tcp]) {
      assert.equal(settingOf(m, check, "request_interval"), interval);
      assert.equal(settingOf(m, check, "failure_threshold"), docs["failure threshold"]);
    }
    const calculated = resource(m, "aws_route53_health_check", "region");
    assert.equal(calculated.type, "CALCULATED");
    assert.equal(calculated.child_health_threshold, 1, "one passing child check must suffice");
    assert.deepEqual(calculated.child_healthchecks, [
      "${aws_route53_health_check.monitor[each.key].id}",
      "${aws_route53_health_check.stratum_tcp[each.key].id}",
    ]);

    // Every record has the documented TTL, or is an alias (which has none).
    const records = m.resources.aws_route53_record;
    assert.ok(records, "no aws_route53_record");
    for (const [name, body] of Object.entries(records)) {
      if ("alias" in body) assert.ok(!("ttl" in body), `${name}: an alias takes no ttl`);
      else assert.equal(settingOf(m, body, "ttl"), docs["record TTL"], `${name}: ttl`);
    }

    // The monitor's Stratum probes and region names are the ones DNS checks.
    for (const region of monitorRegions()) {
      assert.equal(region.stratum.port, docs["Stratum port"], `${region.name}: stratum port`);
    }
    const regions = m.locals.regions as Record<string, { monitor_region: string }>;
    assert.deepEqual(
      sorted(Object.values(regions).map((r) => r.monitor_region)),
      sorted(monitorRegions().map((r) => r.name)),
    );
    assert.deepEqual(
      sorted(Object.values(regions).map((r) => r.monitor_region)),
      sorted(REGIONS.map((r) => r.name)),
    );
    const tfvars = await tfvarsExample(m);
    assert.deepEqual(sorted(Object.keys(tfvars.region_ips as Body)), sorted(Object.keys(regions)));

    // Failover chains: every order lists each region once, every location has one,
    // and they are the documented orders.
    const orders = m.locals.failover_order as Record<string, string[]>;
    for (const [location, order] of Object.entries(orders)) {
      assert.deepEqual(sorted(order), sorted(Object.keys(regions)), `failover_order.${location}`);
      assert.equal(order[0], location, `failover_order.${location} starts elsewhere`);
    }
    for (const g of m.locals.geo as Array<{ id: string; target: string }>) {
      assert.ok(g.target in orders, `geo ${g.id}: no failover_order.${g.target}`);
    }
    const toMonitorName = (key: string) => regions[key].monitor_region;
    const documented = documentedOrders();
    assert.ok(documented.length >= 3, "README.md's failover table has no rows");
    for (const row of documented) {
      const key = Object.keys(regions).find((k) => toMonitorName(k) === row[0])!;
      assert.deepEqual(orders[key].map(toMonitorName), row, `failover order from ${row[0]}`);
    }
  },
});

requires({
  name: "geodns terraform [route53]: the monitor serves the path DNS checks, 200 only when up",
  permissions: PERMS,
  async fn() {
    const m = await loadModule(ROUTE53);
    const path = resource(m, "aws_route53_health_check", "monitor").resource_path as string;
    const regions = Object.values(m.locals.regions as Record<string, { monitor_region: string }>);
    const targets = monitorRegions();
    let engine: "ok" | "down" = "ok";
    const monitor = new Monitor({
      regions: targets,
      pollIntervalMs: DEFAULT_POLL_INTERVAL_SECONDS * 1000,
      checkTimeoutMs: 1000,
      logger: createLogger({ component: "health", region: "global", sink: () => {} }),
      // The real status rule over fixed probe results (no network here).
      prober: () =>
        Promise.resolve({
          engine,
          engineReasons: [],
          stratumOpen: engine === "ok",
          figures: {},
        }),
    });
    const app = createApp(monitor);
    const status = async (region: string) =>
      (await app.request(path.replace("${each.value.monitor_region}", region))).status;
    for (const r of regions) assert.equal(await status(r.monitor_region), 503, "before a check");
    await monitor.pollOnce();
    for (const r of regions) assert.equal(await status(r.monitor_region), 200, r.monitor_region);
    engine = "down";
    await monitor.pollOnce();
    for (const r of regions) assert.equal(await status(r.monitor_region), 503, r.monitor_region);
  },
});

requires({
  name: "geodns terraform [cloudflare]: a TCP monitor probes the Stratum address DNS answers",
  permissions: PERMS,
  async fn() {
    const m = await loadModule(CLOUDFLARE);
    const docs = documentedNumbers();
    const monitors = Object.entries(m.resources.cloudflare_load_balancer_monitor ?? {});
    assert.equal(monitors.length, 1, "one monitor expected");
    const [monitorName, monitor] = monitors[0];
    // A monitor probes each origin at the origin's own address: an HTTP(S)
    // path or Host header would still hit the engine's IP, where nothing
    // serves /health. Only a TCP connect to Stratum fits.
    assert.equal(monitor.type, "tcp");
    assert.equal(monitor.method, "connection_established");
    assert.equal(settingOf(m, monitor, "port"), docs["Stratum port"]);
    for (const key of ["path", "header", "expected_codes", "expected_body"]) {
      assert.ok(!(key in monitor), `a tcp monitor has no ${key}`);
    }
    assert.equal(settingOf(m, monitor, "interval"), docs["check interval"]);
    assert.equal(settingOf(m, monitor, "interval"), DEFAULT_POLL_INTERVAL_SECONDS);
    assert.equal(settingOf(m, monitor, "consecutive_down"), docs["failure threshold"]);
    assert.equal(settingOf(m, monitor, "consecutive_up"), docs["failure threshold"]);

    const pool = resource(m, "cloudflare_load_balancer_pool", "region");
    assert.equal(pool.for_each, "${var.region_ips}");
    assert.equal(pool.monitor, `\${cloudflare_load_balancer_monitor.${monitorName}.id}`);
    const origins = pool.origins as Body[];
    assert.equal(origins.length, 1);
    assert.equal(origins[0].address, "${each.value}", "the origin must be the region's IP");

    const lb = resource(m, "cloudflare_load_balancer", "mine");
    assert.equal(lb.proxied, false, "Stratum is raw TCP: DNS-only");
    assert.equal(lb.steering_policy, "geo");
    assert.equal(settingOf(m, lb, "ttl"), docs["record TTL"]);
    const regionPools = (lb.dynamic as Record<string, Body[]>).region_pools;
    assert.equal(regionPools[0].for_each, "${local.steering}");

    const orders = m.locals.failover_order as Record<string, string[]>;
    const route53 = await loadModule(ROUTE53);
    assert.deepEqual(orders, route53.locals.failover_order, "the same orders as Route53");
    for (
      const [cfRegion, location] of Object.entries(m.locals.steering as Record<string, string>)
    ) {
      assert.ok(location in orders, `steering.${cfRegion}: no failover_order.${location}`);
    }
    const tfvars = await tfvarsExample(m);
    assert.deepEqual(sorted(Object.keys(tfvars.region_ips as Body)), sorted(Object.keys(orders)));
  },
});
