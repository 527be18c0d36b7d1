/**
 * The supervisor with stand-in services (`sleep`, `sh`): start order follows
 * dependencies, stop order is the reverse, a killed child is restarted, one
 * that keeps dying makes the supervisor give up, and a failed start stops
 * what had started.
 */

import assert from "node:assert/strict";
import { Supervisor } from "../../stack/supervisor/supervisor.ts";
import type { ServiceSpec } from "../../stack/supervisor/types.ts";
import { requires } from "../harness/permissions.ts";
import { waitFor } from "../../lib/ports.ts";

const FAST_RESTART = { firstDelayMs: 10, maxDelayMs: 50, maxRestarts: 2, windowMs: 60_000 };

function alive(pid: number): boolean {
  try {
    // A reaped child has no /proc entry; a zombie still would, so check its state too.
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) Z/.test(stat);
  } catch {
    return false;
  }
}

/** A service that runs `sleep` and is ready as soon as the process exists. */
function sleeper(name: string, dependsOn: string[] = []): ServiceSpec {
  return {
    name,
    region: "test",
    dependsOn,
    endpoint: `sleep:${name}`,
    command: () => ({ cmd: "sleep", args: ["600"] }),
    ready: () => Promise.resolve(true),
  };
}

async function withSupervisor(
  services: ServiceSpec[],
  fn: (supervisor: Supervisor, lines: string[]) => Promise<void>,
): Promise<void> {
  const logDir = await Deno.makeTempDir({ prefix: "tbg-supervisor-" });
  const lines: string[] = [];
  const supervisor = new Supervisor(services, {
    logDir,
    report: (line) => lines.push(line),
    restart: FAST_RESTART,
  });
  try {
    await fn(supervisor, lines);
  } finally {
    await supervisor.stop();
    await Deno.remove(logDir, { recursive: true });
  }
}

const PERMISSIONS = ["run", "read", "write", "net"] as const;

requires({
  name: "supervisor: starts in dependency order, stops in reverse, leaves no process",
  permissions: PERMISSIONS,
  async fn() {
    await withSupervisor(
      [sleeper("engine", ["node"]), sleeper("node"), sleeper("publisher", ["engine"])],
      async (supervisor, lines) => {
        await supervisor.start();
        const status = supervisor.status();
        assert.deepEqual(status.map((s) => s.name), ["node", "engine", "publisher"]);
        for (const s of status) assert.ok(s.pid !== null && alive(s.pid), `${s.name} runs`);
        await supervisor.stop();
        const stops = lines.filter((l) => l.startsWith("stopping ")).map((l) => l.slice(9));
        assert.deepEqual(stops, ["publisher", "engine", "node"]);
        for (const s of status) assert.equal(alive(s.pid!), false, `${s.name} is gone`);
      },
    );
  },
});

requires({
  name: "supervisor: a child killed from outside is restarted",
  permissions: PERMISSIONS,
  async fn() {
    await withSupervisor([sleeper("node")], async (supervisor, lines) => {
      await supervisor.start();
      const first = supervisor.status()[0].pid!;
      Deno.kill(first, "SIGKILL");
      const second = await waitFor(() => {
        const pid = supervisor.status()[0].pid;
        return pid !== null && pid !== first &&
            lines.some((l) => l.startsWith("ready node") && l.includes(`pid ${pid}`))
          ? pid
          : null;
      }, { what: "node to be restarted" });
      assert.ok(alive(second));
      assert.ok(lines.some((l) => /node \(pid \d+\) exited unexpectedly with code 137/.test(l)));
      assert.equal(supervisor.status()[0].restarts, 1);
    });
  },
});

requires({
  name: "supervisor: gives up on a service that keeps dying",
  permissions: PERMISSIONS,
  async fn() {
    const flaky: ServiceSpec = {
      name: "flaky",
      region: "test",
      dependsOn: [],
      endpoint: "-",
      command: () => ({ cmd: "sh", args: ["-c", "echo flaky is dying; exit 3"] }),
      ready: () => Promise.resolve(true),
    };
    await withSupervisor([flaky], async (supervisor, lines) => {
      await supervisor.start();
      const error = await supervisor.failed;
      assert.match(error.message, /flaky exited 3 times within 60s; giving up/);
      assert.ok(lines.some((l) => l.includes("flaky is dying")), "the log tail is reported");
    });
  },
});

requires({
  name: "supervisor: a service that never gets ready fails the start and stops the others",
  permissions: PERMISSIONS,
  async fn() {
    const broken: ServiceSpec = {
      name: "broken",
      region: "test",
      dependsOn: ["node"],
      endpoint: "-",
      command: () => ({ cmd: "sh", args: ["-c", "echo cannot bind >&2; exit 1"] }),
      ready: () => Promise.resolve(false),
    };
    await withSupervisor([sleeper("node"), broken], async (supervisor) => {
      await assert.rejects(
        supervisor.start(),
        /broken exited with code 1 before it was ready; log .*broken\.log:\ncannot bind/,
      );
      const node = supervisor.status().find((s) => s.name === "node")!;
      assert.equal(node.pid, null, "node was stopped");
    });
  },
});

requires({
  name: "supervisor: a port already in use is refused before starting",
  permissions: PERMISSIONS,
  async fn() {
    const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const port = (listener.addr as Deno.NetAddr).port;
    const accepting = (async () => {
      for await (const conn of listener) conn.close();
    })();
    try {
      const spec = { ...sleeper("node"), ports: [port] };
      await withSupervisor([spec], async (supervisor) => {
        await assert.rejects(
          supervisor.start(),
          new RegExp(`node: port ${port} .* already in use`),
        );
        assert.deepEqual(supervisor.status(), []);
      });
    } finally {
      listener.close();
      await accepting.catch(() => {});
    }
  },
});
