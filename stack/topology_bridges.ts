/**
 * The native stack's latency bridges: one userspace delay proxy
 * (netem/main.ts) per relay region, the only path from that region to the eu
 * services it uses. Each bridge listens on the relay region's own ports
 * (offsets x5xx, kept for bridges by topology_ports.ts) and forwards, with
 * the region's one-way delay and jitter in each direction (topology_regions.ts):
 *
 *   <region>.bridge_relay        -> eu.relay        (the primary's relay link)
 *   <region>.bridge_nats         -> nats            (the publisher's JetStream)
 *   <region>.bridge_bitcoin_p2p  -> eu.bitcoin_p2p  (the relay node's peer)
 *
 * and the other way, for a miner (or test client) at the eu vantage point:
 *
 *   <region>.bridge_stratum      -> <region>.stratum (the relay's Stratum port, seen from eu)
 *
 * A relay-region service reaches eu through `bridgePort(ports, region, "relay")`.
 */

import { tcpOpen } from "./supervisor/readiness.ts";
import type { ServiceSpec } from "./supervisor/types.ts";
import type { StackConfig } from "./topology_types.ts";
import { portKey, portOf, type PortPlan } from "./topology_ports.ts";
import type { Region } from "./topology_regions.ts";

/** Defined beside the rest of the port scheme (no import cycle); re-exported here. */
export { BRIDGE_PORT_OFFSETS } from "./topology_ports.ts";

/** What each route of a relay region's bridge reaches, as the planned port behind it. */
const BRIDGED: ReadonlyArray<{ via: string; target: (eu: Region, region: Region) => string }> = [
  { via: "relay", target: (eu) => portKey(eu, "relay") },
  { via: "nats", target: () => "nats" },
  { via: "bitcoin_p2p", target: (eu) => portKey(eu, "bitcoin_p2p") },
  { via: "stratum", target: (_eu, region) => portKey(region, "stratum") },
];

export type BridgedService = "relay" | "nats" | "bitcoin_p2p" | "stratum";

export function bridgeServiceName(region: Region): string {
  return `bridge-${region.name}`;
}

/** The port on which `region` reaches eu's `service` (through its bridge). */
export function bridgePort(ports: PortPlan, region: Region, service: BridgedService): number {
  return portOf(ports, portKey(region, `bridge_${service}`));
}

/** The routes of `region`'s bridge: [listen port, target port, what]. */
export function bridgeRoutes(
  ports: PortPlan,
  primary: Region,
  region: Region,
): Array<{ listen: number; target: number; via: string }> {
  return BRIDGED.map(({ via, target }) => ({
    listen: portOf(ports, portKey(region, `bridge_${via}`)),
    target: portOf(ports, target(primary, region)),
    via,
  }));
}

const NETEM_MAIN = new URL("../netem/main.ts", import.meta.url).pathname;

function bridgeService(config: StackConfig, primary: Region, region: Region): ServiceSpec {
  const routes = bridgeRoutes(config.ports, primary, region);
  const args = [
    "run",
    "--allow-net=127.0.0.1",
    "--allow-env=NETEM_LISTEN,NETEM_TARGET,NETEM_ROUTES,NETEM_DELAY_MS,NETEM_JITTER_MS," +
    "NETEM_MAX_BUFFER_BYTES,NETEM_CONNECT_TIMEOUT_MS,NETEM_NAME,NETEM_REGION,LOG_LEVEL",
    NETEM_MAIN,
    ...routes.flatMap((r) => ["--route", `127.0.0.1:${r.listen}=127.0.0.1:${r.target}`]),
    "--delay",
    String(region.latencyMs),
    "--jitter",
    String(region.jitterMs),
    "--name",
    bridgeServiceName(region),
    "--region",
    region.name,
  ];
  const summary = routes.map((r) => `:${r.listen}->:${r.target}`).join(" ");
  return {
    name: bridgeServiceName(region),
    region: region.name,
    dependsOn: [],
    endpoint: `${summary} (+${region.latencyMs}±${region.jitterMs} ms each way)`,
    ports: routes.map((r) => r.listen),
    command: () => ({ cmd: Deno.execPath(), args }),
    ready: async () => (await Promise.all(routes.map((r) => tcpOpen(r.listen)))).every(Boolean),
    stopSignal: "SIGTERM",
  };
}

/** One bridge per relay region in `config.regions` (none when only eu runs). */
export function bridgeServices(config: StackConfig): ServiceSpec[] {
  const primary = config.regions.find((r) => r.role === "primary");
  if (!primary) throw new Error("topology: no primary region to bridge to");
  return config.regions.filter((r) => r.role === "relay").map((r) =>
    bridgeService(config, primary, r)
  );
}
