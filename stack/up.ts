/**
 * `deno task up`: starts the local stack (see stack/topology.ts) under the
 * supervisor, prints what runs where, and runs until Ctrl-C or SIGTERM, which
 * stop everything in reverse start order. A child that dies is restarted with
 * backoff; one that keeps dying stops the stack with exit code 1. While it
 * runs, `deno task stack -- status | stop | start | restart | logs` steers it
 * through the control socket in the data dir (stack/control/).
 *
 *   deno task up            run until interrupted
 *   deno task up --once     start, print the table, stop cleanly, exit 0 (also TBG_STACK_ONCE=1)
 */

import { controlSocketPath } from "./control/path.ts";
import { type ControlServer, serveControl } from "./control/server.ts";
import { liveIntervalMs, LiveView } from "./control/live.ts";
import { portKey, portOf } from "./topology_ports.ts";
import { connectionSummary } from "./summary.ts";
import { formatTable } from "./supervisor/table.ts";
import { Supervisor } from "./supervisor/supervisor.ts";
import { buildTopology, stackLogDir } from "./topology.ts";
import { resolveStackConfig } from "./topology_config.ts";
import { REGIONS } from "./topology_regions.ts";
import type { ServiceStatus } from "./supervisor/supervisor.ts";

const USAGE = "usage: deno task up [--once]\n" +
  "  --once  start everything, print the table, stop cleanly and exit (env TBG_STACK_ONCE=1)\n" +
  "settings: see docs/operations.md";

function say(line: string): void {
  console.log(`[up] ${line}`);
}

/** Shared services first, then regions in topology order; start order within each. */
function byRegion(rows: ServiceStatus[]): ServiceStatus[] {
  const rank = (region: string) => REGIONS.findIndex((r) => r.name === region);
  return rows.map((row, i) => ({ row, i }))
    .sort((a, b) => rank(a.row.region) - rank(b.row.region) || a.i - b.i)
    .map(({ row }) => row);
}

function parseArgs(args: readonly string[]): { once: boolean } {
  let once = Deno.env.get("TBG_STACK_ONCE") === "1";
  for (const arg of args) {
    if (arg === "--once") once = true;
    else if (arg === "--") continue;
    else if (arg === "-h" || arg === "--help") {
      console.log(USAGE);
      Deno.exit(0);
    } else throw new Error(`up: unknown argument "${arg}"\n${USAGE}`);
  }
  return { once };
}

/** Prints the live view (stack/control/live.ts) every TBG_LIVE_INTERVAL seconds. */
function liveTimer(
  config: ReturnType<typeof resolveStackConfig>,
): ReturnType<typeof setInterval> | undefined {
  const every = liveIntervalMs(Deno.env.get("TBG_LIVE_INTERVAL"));
  if (every === 0 || !config.bitcoin) return undefined;
  const url = (key: string) => `http://127.0.0.1:${portOf(config.ports, key)}`;
  const view = new LiveView(
    config.regions.map((r) => ({
      name: r.name,
      role: r.role,
      engineMetricsUrl: url(portKey(r, "metrics")),
      publisherMetricsUrl: url(portKey(r, "publisher_metrics")),
    })),
    url("collector_metrics"),
  );
  let busy = false;
  return setInterval(async () => {
    if (busy) return;
    busy = true;
    try {
      for (const line of await view.lines()) console.log(`[live] ${line}`);
    } finally {
      busy = false;
    }
  }, every);
}

async function main(): Promise<number> {
  const { once } = parseArgs(Deno.args);
  const repoRoot = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
  const config = resolveStackConfig((name) => Deno.env.get(name), repoRoot);
  const logDir = stackLogDir(config);
  await Deno.mkdir(logDir, { recursive: true });
  say(`data in ${config.stackDir}, regions ${config.regions.map((r) => r.name).join(", ")}`);

  const topology = await buildTopology(config);
  for (const note of topology.notes) say(note);
  const supervisor = new Supervisor(topology.services, { logDir, report: say });

  let interrupted = false;
  let onInterrupt = () => {};
  const interruption = new Promise<void>((resolve) => (onInterrupt = resolve));
  for (const sig of ["SIGINT", "SIGTERM"] as const) {
    Deno.addSignalListener(sig, () => {
      if (interrupted) return;
      interrupted = true;
      say(`${sig} received, stopping the stack`);
      onInterrupt();
      void supervisor.stop();
    });
  }

  try {
    await supervisor.start();
  } catch (error) {
    if (interrupted) return 0;
    console.error(`[up] failed to start: ${(error as Error).message}`);
    return 1;
  }
  if (interrupted) {
    await supervisor.stop();
    return 0;
  }

  console.log(`\n${formatTable(byRegion(supervisor.status()))}\n`);
  const databaseUrl = topology.services.find((s) => s.name === "postgres")?.endpoint ?? "-";
  console.log(`${connectionSummary(config, databaseUrl).join("\n")}\n`);
  await Deno.writeTextFile(
    `${config.stackDir}/stack.json`,
    JSON.stringify({ services: supervisor.status(), ports: Object.fromEntries(config.ports) }),
  );
  if (once) {
    say("--once: stack started; stopping it");
    await supervisor.stop();
    say("stopped cleanly");
    return 0;
  }

  let controlServer: ControlServer;
  try {
    controlServer = await serveControl(controlSocketPath(config.stackDir), supervisor, {
      order: byRegion,
      report: say,
    });
  } catch (error) {
    console.error(`[up] ${(error as Error).message}`);
    await supervisor.stop();
    return 1;
  }
  say(`control: deno task stack -- status | stop NAME | start NAME | restart NAME | logs NAME`);
  say(`control socket ${controlServer.path}`);
  say("stack is up; Ctrl-C stops it");
  const live = liveTimer(config);
  const failure = await Promise.race([interruption.then(() => null), supervisor.failed]);
  clearInterval(live);
  await controlServer.close();
  await supervisor.stop();
  say(failure ? "stack stopped after a service kept failing" : "stopped cleanly");
  return failure ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (error) {
    console.error(`[up] ${(error as Error).message}`);
    Deno.exit(1);
  }
}
