/**
 * The control endpoint (stack/control/) in front of a real supervisor with
 * stand-in services: `status` reports state, restarts and uptime; an
 * operator's `stop` keeps a service down while the supervisor restarts a
 * crashed neighbour; `start` and `restart` bring it back with a new pid;
 * `logs` returns the log's tail; bad commands and names get specific errors,
 * both over the socket and from the `deno task stack` command line.
 */

import assert from "node:assert/strict";
import { control, controlRequest } from "../../stack/control/client.ts";
import { parseCliArgs } from "../../stack/control/main.ts";
import { controlSocketPath } from "../../stack/control/path.ts";
import { parseRequest } from "../../stack/control/protocol.ts";
import { serveControl } from "../../stack/control/server.ts";
import { Supervisor } from "../../stack/supervisor/supervisor.ts";
import { formatTable, formatUptime } from "../../stack/supervisor/table.ts";
import type { ServiceSpec } from "../../stack/supervisor/types.ts";
import { waitFor } from "../../lib/ports.ts";
import { requires } from "../harness/permissions.ts";

const FAST_RESTART = { firstDelayMs: 10, maxDelayMs: 50, maxRestarts: 5, windowMs: 60_000 };
const PERMISSIONS = ["run", "read", "write", "env"] as const;
const CLI = new URL("../../stack/control/main.ts", import.meta.url).pathname;

function alive(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(Deno.readTextFileSync(`/proc/${pid}/stat`));
  } catch {
    return false;
  }
}

/**
 * Says hello with its pid in its log, then sleeps. It is ready once it has said
 * hello (it touches a per-launch marker after the echo), so a stop or restart
 * can never catch it before its line is in the log.
 */
function talker(name: string, dir: string): ServiceSpec {
  let launches = 0;
  let marker = "";
  return {
    name,
    region: "test",
    dependsOn: [],
    endpoint: `sh:${name}`,
    command: () => {
      marker = `${dir}/${name}.said-hello.${++launches}`;
      return {
        cmd: "sh",
        args: ["-c", `echo "hello from ${name} $$"; : > "${marker}"; exec sleep 600`],
      };
    },
    ready: async () => {
      try {
        await Deno.stat(marker);
        return true;
      } catch {
        return false;
      }
    },
  };
}

async function withControl(
  fn: (socket: string, supervisor: Supervisor, dir: string, lines: string[]) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "tbg-control-" });
  const lines: string[] = [];
  const supervisor = new Supervisor([talker("node", dir), talker("engine", dir)], {
    logDir: dir,
    report: (line) => lines.push(line),
    restart: FAST_RESTART,
  });
  await supervisor.start();
  const server = await serveControl(controlSocketPath(dir), supervisor);
  try {
    await fn(server.path, supervisor, dir, lines);
  } finally {
    await server.close();
    await supervisor.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

function row(supervisor: Supervisor, name: string) {
  return supervisor.status().find((r) => r.name === name)!;
}

requires({
  name: "control: status, an operator's stop that stays down, start, restart, logs",
  permissions: PERMISSIONS,
  async fn() {
    await withControl(async (socket, supervisor, _dir, lines) => {
      const status = await control(socket, { command: "status" });
      assert.deepEqual(status.services.map((r) => [r.name, r.state, r.restarts]), [
        ["node", "running", 0],
        ["engine", "running", 0],
      ]);
      for (const r of status.services) assert.ok(r.uptimeMs !== null && r.uptimeMs >= 0);
      const enginePid = row(supervisor, "engine").pid!;

      const stopped = await control(socket, { command: "stop", name: "engine" });
      assert.match(stopped.message!, /stopped engine; it stays down until `stack start engine`/);
      assert.equal(stopped.services[0].state, "stopped");
      assert.equal(stopped.services[0].operatorStopped, true);
      assert.equal(alive(enginePid), false, "the engine process is gone");

      // A crash of a neighbour is restarted (10 ms backoff); by the time that
      // restart is done the stopped engine would have been restarted too.
      const nodePid = row(supervisor, "node").pid!;
      Deno.kill(nodePid, "SIGKILL");
      await waitFor(() => {
        const r = row(supervisor, "node");
        return r.state === "running" && r.pid !== nodePid;
      }, { what: "node to be restarted by the supervisor" });
      assert.equal(row(supervisor, "engine").state, "stopped");
      assert.equal(row(supervisor, "engine").pid, null);
      assert.ok(!lines.some((l) => l.startsWith("restarting engine")), lines.join("\n"));
      const table = formatTable((await control(socket, { command: "status" })).services);
      assert.match(table, /^SERVICE\s+REGION\s+STATE\s+PID\s+RESTARTS\s+UPTIME\s+ENDPOINT\s+LOG/);
      assert.match(table, /^engine\s+test\s+stopped \(operator\)\s+-\s+0\s+-\s+sh:engine/m);
      assert.match(table, /^node\s+test\s+running\s+\d+\s+1\s+\d+s\s+sh:node/m);

      const again = await controlRequest(socket, { command: "stop", name: "engine" });
      assert.deepEqual(again, { ok: false, error: "engine is already stopped" });

      const started = await control(socket, { command: "start", name: "engine" });
      const newPid = started.services[0].pid!;
      assert.notEqual(newPid, enginePid);
      assert.ok(alive(newPid));
      assert.equal(started.services[0].state, "running");
      const twice = await controlRequest(socket, { command: "start", name: "engine" });
      assert.equal(twice.ok, false);
      assert.match((twice as { error: string }).error, /^engine is already running \(pid \d+\)/);

      const restarted = await control(socket, { command: "restart", name: "engine" });
      assert.notEqual(restarted.services[0].pid, newPid);
      assert.equal(alive(newPid), false);
      assert.equal(restarted.services[0].restarts, 1);

      const latest = `hello from engine ${restarted.services[0].pid}`;
      const logs = await waitFor(async () => {
        const answer = await control(socket, { command: "logs", name: "engine", lines: 2 });
        return answer.log!.endsWith(latest) && answer;
      }, { what: "the restarted engine's hello in its log" });
      const said = logs.log!.split("\n");
      assert.equal(said.length, 2, logs.log);
      assert.deepEqual(said, [
        `hello from engine ${newPid}`,
        `hello from engine ${restarted.services[0].pid}`,
      ]);
    });
  },
});

requires({
  name: "control: unknown names, commands and malformed requests get specific errors",
  permissions: PERMISSIONS,
  async fn() {
    await withControl(async (socket) => {
      for (const command of ["stop", "start", "restart", "logs"] as const) {
        const response = await controlRequest(
          socket,
          command === "logs" ? { command, name: "ckpool-mars", lines: 5 } : {
            command,
            name: "ckpool-mars",
          },
        );
        assert.deepEqual(response, {
          ok: false,
          error: 'no service named "ckpool-mars" (known: node, engine)',
        });
      }
      const raw = async (line: string) => {
        const conn = await Deno.connect({ transport: "unix", path: socket });
        await conn.write(new TextEncoder().encode(line + "\n"));
        const text = new TextDecoder().decode(await new Response(conn.readable).arrayBuffer());
        return JSON.parse(text);
      };
      assert.deepEqual(await raw("status please"), {
        ok: false,
        error: "control: request is not JSON",
      });
      assert.deepEqual(await raw('{"command":"explode"}'), {
        ok: false,
        error: 'control: unknown command "explode" (known: status, stop, start, restart, logs)',
      });
      assert.deepEqual(await raw('{"command":"stop"}'), {
        ok: false,
        error: 'control: "stop" needs a service name',
      });
      // A second stack on the same data dir is refused while this one answers.
      await assert.rejects(
        serveControl(socket, new Supervisor([], { logDir: "/nonexistent" })),
        /answers: another `deno task up` uses this data dir/,
      );
    });
  },
});

Deno.test("control: request and command-line parsing name what is wrong", () => {
  assert.deepEqual(parseRequest('{"command":"logs","name":"nats"}'), {
    command: "logs",
    name: "nats",
    lines: 40,
  });
  assert.throws(
    () => parseRequest('{"command":"logs","name":"nats","lines":0}'),
    /"lines" must be an integer 1-10000 \(got 0\)/,
  );
  assert.throws(() => parseRequest("[1]"), /request must be a JSON object/);
  assert.deepEqual(parseCliArgs(["--", "stop", "ckpool-eu"]), {
    request: { command: "stop", name: "ckpool-eu" },
    stackDir: null,
  });
  assert.deepEqual(parseCliArgs(["logs", "nats", "-n", "5", "--dir", "/x"]), {
    request: { command: "logs", name: "nats", lines: 5 },
    stackDir: "/x",
  });
  assert.throws(() => parseCliArgs([]), /stack: no command given/);
  assert.throws(() => parseCliArgs(["halt"]), /stack: unknown command "halt" \(known: status/);
  assert.throws(() => parseCliArgs(["stop"]), /stack: stop needs a service name/);
  assert.throws(() => parseCliArgs(["status", "nats"]), /status takes no argument \(got "nats"\)/);
  assert.throws(() => parseCliArgs(["logs", "nats", "-n", "x"]), /-n must be a positive integer/);
  assert.throws(() => parseCliArgs(["stop", "a", "b"]), /unexpected argument "b"/);
  assert.throws(() => parseCliArgs(["--force", "stop"]), /unknown option "--force"/);
  assert.equal(formatUptime(null), "-");
  assert.equal(formatUptime(59_999), "59s");
  assert.equal(formatUptime(187_000), "3m07s");
  assert.equal(formatUptime(7_500_000), "2h05m");
});

async function cli(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-read",
      "--allow-write",
      "--allow-net",
      "--allow-env=TBG_STACK_DIR",
      CLI,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

requires({
  name: "control: `deno task stack` prints the table, acts, and exits 1/2 with the reason",
  permissions: PERMISSIONS,
  async fn() {
    await withControl(async (_socket, supervisor, dir) => {
      const status = await cli(["status", "--dir", dir]);
      assert.equal(status.code, 0, status.stderr);
      assert.match(status.stdout, /^node\s+test\s+running\s+\d+\s+0\s+\d+s\s+sh:node/m);
      const stop = await cli(["stop", "node", "--dir", dir]);
      assert.equal(stop.code, 0, stop.stderr);
      assert.match(stop.stdout, /^stopped node; it stays down until `stack start node`$/m);
      assert.equal(row(supervisor, "node").state, "stopped");
      const unknown = await cli(["stop", "nope", "--dir", dir]);
      assert.equal(unknown.code, 1);
      assert.match(unknown.stderr, /stack stop: no service named "nope" \(known: node, engine\)/);
      const usage = await cli(["stop"]);
      assert.equal(usage.code, 2);
      assert.match(usage.stderr, /stack: stop needs a service name\nusage:/);
      const nowhere = await cli(["status", "--dir", `${dir}/elsewhere`]);
      assert.equal(nowhere.code, 1);
      assert.match(nowhere.stderr, /no running stack answers on .*elsewhere\/control\.sock/);
    });
  },
});
