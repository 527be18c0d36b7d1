/**
 * `deno task up` end to end: the real supervisor with the real topology (three
 * regions: nodes, bridges, engines, publishers, NATS, collector, Redis,
 * PostgreSQL, miner API, health monitor, demo miner) in a temp data dir on free ports.
 * `--once` starts everything, prints the table and exits 0 after a clean stop.
 * A long-running stack carries the demo miner's shares from the eu engine
 * through publisher -> NATS -> collector into PostgreSQL, shows them in the
 * miner API, reports eu healthy,
 * restarts a killed child and stops everything on SIGTERM.
 */

import assert from "node:assert/strict";
import { engineBinary } from "../../lib/harness/engine.ts";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { waitFor } from "../../lib/ports.ts";
import { redisPong } from "../../stack/supervisor/readiness.ts";
import type { ServiceStatus } from "../../stack/supervisor/supervisor.ts";

/** Every service of a three-region stack. */
const EXPECTED = [
  "nats",
  "redis",
  "postgres",
  "collector",
  "miner-api",
  "health",
  ...["eu", "us-east", "asia"].flatMap((r) => [`bitcoind-${r}`, `publisher-${r}`, `ckpool-${r}`]),
  "bridge-us-east",
  "bridge-asia",
  "miner-eu",
  "miner-us-east",
  "miner-asia",
];

const UP = new URL("../../stack/up.ts", import.meta.url).pathname;

interface UpRun {
  child: Deno.ChildProcess;
  output: () => string;
  /** Exit code, once stdout and stderr are drained. */
  exited: Promise<number>;
  stackDir: string;
}

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
}

async function startUp(args: string[]): Promise<UpRun> {
  const bin = await engineBinary(); // builds ckpool/ckpool once when needed
  const stackDir = await Deno.makeTempDir({ prefix: "tbg-up-" });
  // As root, PostgreSQL runs as the postgres OS user, which must enter this dir.
  await Deno.chmod(stackDir, 0o755);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", "--unstable-net", UP, ...args],
    env: { TBG_STACK_DIR: stackDir, TBG_STACK_PORT_BASE: "0", CKPOOL_BIN: bin, NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let text = "";
  const decoder = new TextDecoder();
  const drain = (stream: ReadableStream<Uint8Array>) =>
    stream.pipeTo(new WritableStream({ write: (chunk) => void (text += decoder.decode(chunk)) }));
  const pipes = Promise.all([drain(child.stdout), drain(child.stderr)]);
  const exited = child.status.then(async (status) => {
    await pipes.catch(() => {});
    return status.code;
  });
  return { child, output: () => text, exited, stackDir };
}

async function cleanup(run: UpRun): Promise<void> {
  try {
    run.child.kill("SIGTERM");
  } catch {
    // already exited
  }
  await run.exited;
  await Deno.remove(run.stackDir, { recursive: true }).catch(() => {});
}

function readStack(run: UpRun): ServiceStatus[] {
  const state = JSON.parse(Deno.readTextFileSync(`${run.stackDir}/stack.json`)) as {
    services: ServiceStatus[];
  };
  return state.services;
}

function endpointOf(services: ServiceStatus[], name: string): string {
  const service = services.find((s) => s.name === name);
  assert.ok(service, `service ${name} runs`);
  return service.endpoint;
}

requires({
  name: "up --once: starts all three regions, prints the table, stops cleanly, exits 0",
  permissions: SERVICE_PERMISSIONS,
  async fn() {
    const run = await startUp(["--once"]);
    try {
      const code = await run.exited;
      const out = run.output();
      assert.equal(code, 0, `up --once exited ${code}:\n${out}`);
      assert.match(out, /SERVICE\s+REGION\s+STATE\s+PID\s+RESTARTS\s+UPTIME\s+ENDPOINT\s+LOG/);
      const services = readStack(run);
      assert.deepEqual(services.map((s) => s.name).sort(), [...EXPECTED].sort());
      for (const s of services) {
        assert.match(out, new RegExp(`^${s.name}\\s+${s.region}\\s+.*\\s${s.pid}\\s`, "m"));
        assert.ok(s.pid !== null && !alive(s.pid), `${s.name} (pid ${s.pid}) was stopped`);
        assert.ok(Deno.statSync(s.logPath).isFile, `${s.name} has a log file`);
      }
      assert.match(out, /postgres:\/\/tbg@127\.0\.0\.1:\d+\/tbg/);
      for (const region of ["eu", "us-east", "asia"]) {
        assert.match(out, new RegExp(`^  ${region}\\s+stratum\\+tcp://127\\.0\\.0\\.1:\\d+`, "m"));
      }
      assert.match(out, /Health monitor\s+http:\/\/127\.0\.0\.1:\d+\//);
      assert.match(out, /Miner view\s+http:\/\/127\.0\.0\.1:\d+\/miners\/bcrt1/);
      // The relay engines' configs point at eu only through their bridges.
      const config = JSON.parse(
        Deno.readTextFileSync(`${run.stackDir}/ckpool-us-east/ckpool.json`),
      ) as { primary: { port: number } };
      assert.match(endpointOf(services, "bridge-us-east"), new RegExp(`:${config.primary.port}->`));
      assert.match(out, /\[up\] stopped cleanly/);
    } finally {
      await cleanup(run);
    }
  },
});

/** Rows of `events` for share_submitted from eu, via the stack's PostgreSQL. */
async function euShares(databaseUrl: string): Promise<number> {
  const { default: postgres } = await import("postgres");
  const sql = postgres(databaseUrl, { onnotice: () => {}, max: 1 });
  try {
    const [{ n }] = await sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM events WHERE event = 'share_submitted' AND region = 'eu'`;
    return n;
  } catch {
    return 0; // the collector has not created the table yet
  } finally {
    await sql.end();
  }
}

async function regionStatus(healthUrl: string, region: string): Promise<string | null> {
  try {
    const response = await fetch(`${healthUrl}health/${region}`);
    const body = await response.json() as { status?: string };
    return body.status ?? null;
  } catch {
    return null;
  }
}

requires({
  name: "up: the demo miner's shares reach PostgreSQL, eu is healthy, a killed child " +
    "restarts, SIGTERM stops everything",
  permissions: SERVICE_PERMISSIONS,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const run = await startUp([]);
    try {
      await waitFor(() => run.output().includes("stack is up"), {
        timeoutMs: 120_000,
        what: "the stack to come up",
      });
      const services = readStack(run);

      // The single-region pipeline with the real engine: miner -> ckpool-eu ->
      // publisher-eu -> NATS -> collector -> PostgreSQL.
      const databaseUrl = endpointOf(services, "postgres");
      await waitFor(async () => (await euShares(databaseUrl)) > 0, {
        timeoutMs: 90_000,
        intervalMs: 500,
        what: "share_submitted events from eu in PostgreSQL",
      });
      // The same shares in the demo miner's own view (the table names its page).
      const view = /Miner view\s+(http:\/\/127\.0\.0\.1:\d+)\/miners\/(\S+)/.exec(run.output())!;
      const figures = await waitFor(async () => {
        const res = await fetch(`${view[1]}/api/v1/miners/${view[2]}`).catch(() => undefined);
        const body = await res?.json().catch(() => undefined);
        return res?.status === 200 && body.shares.accepted > 0 ? body : undefined;
      }, { timeoutMs: 30_000, intervalMs: 500, what: "the demo miner's shares in the miner API" });
      assert.ok(figures.hashrate["24h"] > 0, JSON.stringify(figures));
      assert.ok(["eu", "us-east", "asia"].includes(figures.region), JSON.stringify(figures));
      const healthUrl = /^(http:\/\/127\.0\.0\.1:\d+\/)/.exec(endpointOf(services, "health"))![1];
      await waitFor(async () => (await regionStatus(healthUrl, "eu")) === "healthy", {
        timeoutMs: 30_000,
        intervalMs: 250,
        what: "the health monitor to report eu healthy",
      });

      const redis = services.find((s) => s.name === "redis")!;
      const port = Number(/redis:\/\/127\.0\.0\.1:(\d+)/.exec(redis.endpoint)![1]);
      Deno.kill(redis.pid!, "SIGKILL");
      const restartedPid = await waitFor(() => {
        const match = [...run.output().matchAll(/ready redis \(global\) pid (\d+)/g)];
        return match.length >= 2 ? Number(match[1][1]) : null;
      }, { timeoutMs: 30_000, what: "redis to be restarted" });
      assert.notEqual(restartedPid, redis.pid);
      assert.match(run.output(), /redis \(pid \d+\) exited unexpectedly with code 137/);
      assert.equal(await redisPong(port), true, "the restarted redis serves its port");

      run.child.kill("SIGTERM");
      const code = await run.exited;
      assert.equal(code, 0, run.output());
      assert.match(run.output(), /SIGTERM received, stopping the stack/);
      for (const pid of [...services.map((s) => s.pid!), restartedPid]) {
        assert.equal(alive(pid), false, `pid ${pid} is gone`);
      }
    } finally {
      await cleanup(run);
    }
  },
});
