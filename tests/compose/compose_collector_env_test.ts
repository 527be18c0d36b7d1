/**
 * The event collector starts under exactly the Deno permissions compose.yaml
 * gives it. Its dependency ioredis loads `debug`, which lists the whole
 * environment at import, so an --allow-env list stops it with NotCapable
 * before its first line. Runs the real functions/collector/main.ts with the
 * Compose service's flags (its --allow-net widened to loopback, where the
 * services it wants are closed ports) until it logs its first retry.
 */

import assert from "node:assert/strict";
import { freePort, waitFor } from "../../lib/ports.ts";
import { requires } from "../harness/permissions.ts";
import { loadCompose, readEnvFile, REPO } from "./_compose.ts";

/** A loopback port nothing listens on: every connection is refused at once. */
const CLOSED = "127.0.0.1:1";

requires({
  name: "compose: the event collector runs under its Compose permissions (no NotCapable)",
  permissions: ["read", "env", "run", "net"],
  fn: async () => {
    const compose = loadCompose(readEnvFile(`${REPO}.env.example`));
    const command = compose.services["event-collector"]?.command;
    assert.ok(command, "compose.yaml has an event-collector command");
    const args = command.map((arg) => arg.startsWith("--allow-net") ? "--allow-net" : arg);
    const child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: REPO,
      env: {
        NATS_URL: `nats://${CLOSED}`,
        DATABASE_URL: `postgres://tbg@${CLOSED}/tbg`,
        REDIS_URL: `redis://${CLOSED}`,
        COLLECTOR_METRICS_LISTEN: `127.0.0.1:${freePort()}`,
        NO_COLOR: "1",
      },
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    let output = "";
    const decoder = new TextDecoder();
    const drain = (stream: ReadableStream<Uint8Array>) =>
      stream.pipeTo(new WritableStream({ write: (c) => void (output += decoder.decode(c)) }));
    const pipes = Promise.all([drain(child.stdout), drain(child.stderr)]);
    let exited: number | null = null;
    const status = child.status.then((s) => (exited = s.code));
    try {
      const outcome = await waitFor(
        () => exited !== null ? "exited" : output.includes("retrying") && "running",
        { timeoutMs: 60_000, what: "the collector's first retry line" },
      );
      assert.equal(outcome, "running", `collector exited ${exited}:\n${output}`);
      assert.doesNotMatch(output, /NotCapable/);
    } finally {
      if (exited === null) child.kill("SIGTERM");
      await status;
      await pipes;
    }
  },
});
