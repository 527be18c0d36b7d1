/**
 * The miner API starts under exactly the Deno permissions compose.yaml gives
 * it: postgres.js reads PG* variables the URL leaves unset, so a list without
 * them stops it with NotCapable at start. Runs the real
 * functions/miner-api/main.ts with the Compose service's flags (its
 * --allow-net widened to loopback, where the database is a closed port) until
 * its /health answers that the database is down.
 */

import assert from "node:assert/strict";
import { freePort, waitFor } from "../../lib/ports.ts";
import { requires } from "../harness/permissions.ts";
import { loadCompose, readEnvFile, REPO } from "./_compose.ts";

requires({
  name: "compose: the miner API runs under its Compose permissions (no NotCapable)",
  permissions: ["read", "env", "run", "net"],
  fn: async () => {
    const compose = loadCompose(readEnvFile(`${REPO}.env.example`));
    const command = compose.services["miner-api"]?.command;
    assert.ok(command, "compose.yaml has a miner-api command");
    const args = command.map((arg) => arg.startsWith("--allow-net") ? "--allow-net" : arg);
    const port = freePort();
    const child = new Deno.Command(Deno.execPath(), {
      args,
      cwd: REPO,
      env: {
        // No password in the URL: postgres.js falls back to PGPASSWORD.
        DATABASE_URL: "postgres://tbg@127.0.0.1:1/tbg",
        MINER_API_LISTEN: `127.0.0.1:${port}`,
        MINER_API_NETWORK: "signet",
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
      const health = await waitFor(async () => {
        if (exited !== null) return { status: -1, body: {} as Record<string, unknown> };
        const res = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
        return res && { status: res.status, body: await res.json() };
      }, { timeoutMs: 60_000, what: "the miner API's /health" });
      assert.equal(health.status, 503, `miner-api exited ${exited}:\n${output}`);
      assert.equal(health.body.status, "down");
      assert.doesNotMatch(output, /NotCapable/);
    } finally {
      if (exited === null) child.kill("SIGTERM");
      await status;
      await pipes;
    }
  },
});
