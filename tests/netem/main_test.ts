/** `netem/main.ts` as a process: JSON-line logs, forwarding, clean exit on SIGTERM. */

import assert from "node:assert/strict";
import { requires } from "../harness/permissions.ts";
import { freePort, waitForPort } from "../../lib/ports.ts";
import { connect, echo, readExactly, serve, writeAll } from "./_helpers.ts";

const MAIN = new URL("../../netem/main.ts", import.meta.url).pathname;

requires({
  name: "netem main: starts from flags, logs JSON lines, forwards, stops on SIGTERM",
  permissions: ["net", "run", "read"],
  async fn() {
    const server = serve(echo);
    const port = freePort();
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-net",
        "--allow-env",
        MAIN,
        "--listen",
        `127.0.0.1:${port}`,
        "--target",
        `127.0.0.1:${server.port}`,
        "--delay",
        "10",
        "--jitter",
        "2",
        "--region",
        "us-east",
      ],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    try {
      await waitForPort(port);
      const conn = await connect(port);
      await writeAll(conn, new TextEncoder().encode("ping"));
      assert.equal(new TextDecoder().decode(await readExactly(conn, 4)), "ping");
      conn.close();
      child.kill("SIGTERM");
      const out = await child.output();
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
      const lines = new TextDecoder().decode(out.stdout).trim().split("\n").map((l) =>
        JSON.parse(l)
      );
      const listening = lines.find((l) => l.msg === "bridge listening");
      assert.ok(listening, "no 'bridge listening' line");
      assert.equal(listening.region, "us-east");
      assert.equal(listening.delay_ms, 10);
      for (const key of ["ts", "level", "component", "region", "msg"]) assert.ok(key in listening);
      const stopped = lines.find((l) => l.msg === "bridge stopped");
      // waitForPort connected once too.
      assert.ok(stopped?.accepted >= 2, JSON.stringify(stopped));
    } finally {
      try {
        child.kill("SIGKILL");
      } catch {
        // exited
      }
      await child.status;
      await server.close();
    }
  },
  sanitizeResources: false,
});

requires({
  name: "netem main: a bad flag exits 2 naming it",
  permissions: ["run", "read"],
  async fn() {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-net", "--allow-env", MAIN, "--listen", "x", "--target", "y:1"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 2);
    assert.match(new TextDecoder().decode(out.stderr), /netem: --listen must be HOST:PORT/);
  },
});
