/**
 * The Compose SystemStack (TBG_SYSTEM_TARGET=compose): runs compose.yaml with
 * `docker compose` under its own project name, plus an override that
 * publishes the stores', collector's, publishers' and nodes' ports to free
 * host ports, and stops/starts services with `docker compose stop|start`.
 * Needs a Docker host; where there is none the suites report themselves
 * ignored with the reason (_target.ts).
 */

import type {
  HostPort,
  RegionEndpoints,
  RegionName,
  ServiceName,
  SystemEndpoints,
  SystemOptions,
  SystemStack,
} from "../../lib/harness/system.ts";

import { REGIONS } from "../../stack/topology_regions.ts";

const REPO = new URL("../../", import.meta.url).pathname;

/** The Compose service behind each name `deno task stack` uses. */
const SERVICES: Record<ServiceName, string> = {
  "nats": "nats-hub",
  "collector": "event-collector",
  ...Object.fromEntries(REGIONS.map((r) => [`ckpool-${r.name}`, r.compose.engine])) as Record<
    `ckpool-${RegionName}`,
    string
  >,
};

/** Why Compose cannot run here, or null when `docker compose` answers. */
export function composeUnavailable(): string | null {
  try {
    const out = new Deno.Command("docker", {
      args: ["compose", "version"],
      stdout: "null",
      stderr: "null",
    })
      .outputSync();
    return out.code === 0 ? null : "`docker compose version` failed (no Docker daemon?)";
  } catch {
    return "no `docker` command on this machine";
  }
}

function override(): string {
  const publish = (service: string, ports: number[]) =>
    `  ${service}:\n    ports:\n${ports.map((p) => `      - "127.0.0.1::${p}"`).join("\n")}\n`;
  let text = "services:\n";
  text += publish("timescaledb", [5432]) + publish("redis", [6379]);
  text += publish("event-collector", [9102]);
  for (const { compose } of REGIONS) {
    text += publish(compose.publisher, [9101]) + publish(compose.node, [38332]);
  }
  return text;
}

async function compose(project: string, overridePath: string, args: string[]): Promise<string> {
  const out = await new Deno.Command("docker", {
    args: ["compose", "-p", project, "-f", `${REPO}compose.yaml`, "-f", overridePath, ...args],
    cwd: REPO,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  if (out.code !== 0) {
    throw new Error(
      `docker compose ${args.join(" ")} exited ${out.code}: ${
        new TextDecoder().decode(out.stderr)
      }`,
    );
  }
  return text;
}

async function hostPort(
  run: (args: string[]) => Promise<string>,
  service: string,
  port: number,
): Promise<HostPort> {
  const text = (await run(["port", service, String(port)])).trim();
  const match = /^(.*):(\d+)$/.exec(text);
  if (!match) throw new Error(`compose: ${service}:${port} is not published (got "${text}")`);
  return { hostname: match[1] === "0.0.0.0" ? "127.0.0.1" : match[1], port: Number(match[2]) };
}

export async function startComposeSystem(options: SystemOptions): Promise<SystemStack> {
  const project = `tbg-system-${options.label}-${Date.now().toString(36)}`;
  const dir = await Deno.makeTempDir({ prefix: "tbg-compose-" });
  const overridePath = `${dir}/compose.system.yaml`;
  await Deno.writeTextFile(overridePath, override());
  const run = (args: string[]) => compose(project, overridePath, args);
  const close = async () => {
    await run(["down", "-v", "--remove-orphans"]).catch(() => "");
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };
  try {
    await run(["up", "-d", "--wait", "--build"]);
    const regions = {} as Record<RegionName, RegionEndpoints>;
    for (const { name, compose: s, latencyMs, jitterMs } of REGIONS) {
      const stratum = await hostPort(run, s.engine, 3333);
      const metrics = await hostPort(run, s.engine, 9100);
      const publisher = await hostPort(run, s.publisher, 9101);
      const rpc = await hostPort(run, s.node, 38332);
      regions[name] = {
        name,
        stratum,
        // Compose's delay is tc netem between its networks; from the host every
        // published port is local, so there is no eu vantage point to measure from.
        stratumFromEu: null,
        metricsUrl: `http://${metrics.hostname}:${metrics.port}`,
        publisherMetricsUrl: `http://${publisher.hostname}:${publisher.port}`,
        rpc: {
          url: `http://${rpc.hostname}:${rpc.port}/`,
          user: Deno.env.get("BITCOIN_RPC_USER") ?? "tbg",
          password: Deno.env.get("BITCOIN_RPC_PASSWORD") ?? "",
        },
        poolInstance: s.engine,
        latencyMs,
        jitterMs,
      };
    }
    const pg = await hostPort(run, "timescaledb", 5432);
    const redis = await hostPort(run, "redis", 6379);
    const collector = await hostPort(run, "event-collector", 9102);
    const relayConfig = JSON.parse(
      await Deno.readTextFile(`${REPO}config/ckpool-relay-us.json`),
    ) as { primary: { failover_threshold: number; reconnect_interval: number } };
    const endpoints: SystemEndpoints = {
      regions,
      postgresUrl: `postgres://tbg:${
        Deno.env.get("POSTGRES_PASSWORD") ?? ""
      }@${pg.hostname}:${pg.port}/tbg`,
      redisUrl: `redis://${redis.hostname}:${redis.port}`,
      collectorMetricsUrl: `http://${collector.hostname}:${collector.port}`,
      failoverThresholdS: relayConfig.primary.failover_threshold,
      reconnectIntervalS: relayConfig.primary.reconnect_interval,
    };
    return {
      target: "compose",
      endpoints,
      async stopService(name) {
        await run(["stop", SERVICES[name]]);
      },
      async startService(name) {
        await run(["start", SERVICES[name]]);
        await run(["up", "-d", "--wait", "--no-recreate", SERVICES[name]]);
      },
      describe: () => run(["ps"]),
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
