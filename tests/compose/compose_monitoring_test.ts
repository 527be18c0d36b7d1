/**
 * compose.yaml's optional `monitoring` profile, statically: Prometheus and
 * Grafana are the only services with a profile (a plain `docker compose up`
 * starts what it did before), every file they mount exists in the repository,
 * Prometheus finds its rule file where prometheus.yml names it, Grafana's
 * dashboard provider reads the directory the dashboards are mounted at, its
 * datasource is the Prometheus service, and Prometheus can reach every region.
 */

import assert from "node:assert/strict";
import { parse } from "yaml";
import { requires } from "../harness/permissions.ts";
import { loadCompose, networksOf, readEnvFile, REPO, type Service, VARIANTS } from "./_compose.ts";

const PERMS = ["read", "env"] as const;
const MONITORING = ["prometheus", "grafana"];

/** Bind mounts of a service: container path -> repository path. */
function binds(s: Service): Map<string, string> {
  const out = new Map<string, string>();
  for (const v of s.volumes ?? []) {
    const [source, target] = v.split(":");
    if (source.startsWith("./")) out.set(target, source.slice(2));
  }
  return out;
}

function statKind(path: string): "file" | "dir" | "missing" {
  try {
    return Deno.statSync(`${REPO}${path}`).isDirectory ? "dir" : "file";
  } catch {
    return "missing";
  }
}

for (const [variant, files] of Object.entries(VARIANTS)) {
  requires({
    name: `compose monitoring: profile services, their mounts and wiring [${variant}]`,
    permissions: PERMS,
    fn() {
      const compose = loadCompose(readEnvFile(`${REPO}.env.example`), files);
      for (const [name, s] of Object.entries(compose.services)) {
        const wanted = MONITORING.includes(name) ? ["monitoring"] : undefined;
        assert.deepEqual(s.profiles, wanted, `${name} profiles`);
      }
      const prometheus = compose.services.prometheus;
      const grafana = compose.services.grafana;

      // Every bind mount of the profile is there, with the kind it is mounted as.
      for (const name of MONITORING) {
        for (const [target, source] of binds(compose.services[name])) {
          const kind = statKind(source);
          assert.notEqual(kind, "missing", `${name} mounts missing ./${source} at ${target}`);
          assert.equal(kind, target.endsWith(".yml") ? "file" : "dir", `${name}: ${source}`);
        }
      }

      // Prometheus: the config it is started with is mounted, and its rule files beside it.
      const pb = binds(prometheus);
      const configFlag = prometheus.command!.find((c) => c.startsWith("--config.file="))!;
      const configPath = configFlag.split("=")[1];
      assert.equal(pb.get(configPath), "deploy/prometheus/prometheus.yml");
      // deno-lint-ignore no-explicit-any
      const config = parse(Deno.readTextFileSync(`${REPO}${pb.get(configPath)}`)) as any;
      const configDir = configPath.slice(0, configPath.lastIndexOf("/") + 1);
      for (const rule of config.rule_files as string[]) {
        const inContainer = rule.startsWith("/") ? rule : `${configDir}${rule}`;
        assert.ok(pb.has(inContainer), `rule file ${inContainer} is not mounted`);
      }
      for (const network of ["eu_net", "us_net", "asia_net"]) {
        assert.ok(networksOf(prometheus).includes(network), `prometheus not on ${network}`);
      }

      // Grafana: datasource and dashboard provider provisioned, dashboards where it looks.
      const gb = binds(grafana);
      const provisioned = [...gb.keys()].filter((t) => t.startsWith("/etc/grafana/provisioning/"));
      assert.ok(provisioned.some((t) => t.includes("/datasources/")), "no datasource provisioned");
      const providerTarget = provisioned.find((t) => t.includes("/dashboards/"));
      assert.ok(providerTarget, "no dashboard provider provisioned");
      // deno-lint-ignore no-explicit-any
      const provider = parse(Deno.readTextFileSync(`${REPO}${gb.get(providerTarget!)}`)) as any;
      const path = provider.providers[0].options.path;
      assert.equal(gb.get(path), "deploy/grafana/dashboards", `nothing mounted at ${path}`);
      const datasourceTarget = provisioned.find((t) => t.includes("/datasources/"))!;
      // deno-lint-ignore no-explicit-any
      const ds = parse(Deno.readTextFileSync(`${REPO}${gb.get(datasourceTarget)}`)) as any;
      const url = new URL(ds.datasources[0].url);
      assert.ok(compose.services[url.hostname], `datasource host ${url.hostname} is no service`);
      assert.ok(
        networksOf(grafana).some((n) => networksOf(compose.services[url.hostname]).includes(n)),
        "grafana shares no network with its datasource",
      );
      assert.ok(grafana.environment?.GF_SECURITY_ADMIN_PASSWORD, "grafana admin password unset");
    },
  });
}
