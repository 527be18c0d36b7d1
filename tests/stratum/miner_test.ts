import { assert, assertEquals } from "../assert.ts";
import { requires } from "../harness/permissions.ts";
import { waitFor } from "../../lib/ports.ts";
import { FakePool } from "./fake_pool.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const MINER = `${ROOT}tools/miner.ts`;
/** What `deno task miner` grants: the network, and reading its own modules for workers. */
const READ = `--allow-read=${ROOT}tools,${ROOT}lib`;

/** Starts the miner CLI with the permissions of `deno task miner` (none for `threads` 1). */
function startMiner(args: string[], permissions = ["--allow-net", READ]) {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, MINER, ...args],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** The JSON log lines of a finished miner. */
function logLines(stdout: Uint8Array): Record<string, unknown>[] {
  return new TextDecoder().decode(stdout).trim().split("\n").filter((l) => l).map((l) =>
    JSON.parse(l)
  );
}

requires({
  name: "miner CLI: two threads mine until --max-shares accepted shares, with version rolling",
  permissions: ["net", "run"],
  async fn() {
    const pool = new FakePool({ difficulty: 2e-7 });
    try {
      const child = startMiner([
        "--url",
        `stratum+tcp://127.0.0.1:${pool.port}`,
        "--user",
        "bcrt1qminer.rig1",
        "--threads",
        "2",
        "--version-rolling",
        "1fffe000",
        "--max-shares",
        "3",
      ]);
      const out = await child.output();
      const stderr = new TextDecoder().decode(out.stderr);
      assertEquals(out.code, 0, stderr);
      const lines = logLines(out.stdout);
      const msgs = lines.map((l) => l.msg);
      assert(msgs.includes("authorized"), JSON.stringify(msgs));
      assert(msgs.includes("job"));
      assertEquals(msgs.filter((m) => m === "share accepted").length >= 3, true);
      assertEquals(lines.at(-1)?.msg, "stopped");
      assert(pool.submits.filter((s) => s.accepted).length >= 3);
      assertEquals(pool.submits.filter((s) => !s.accepted).length, 0);
    } finally {
      await pool.close();
    }
  },
});

requires({
  name: "miner CLI: one thread needs only --allow-net; SIGINT stops it with exit code 0",
  permissions: ["net", "run"],
  async fn() {
    const pool = new FakePool({ difficulty: 2e-7 });
    try {
      const child = startMiner([
        "--url",
        `127.0.0.1:${pool.port}`,
        "--user",
        "bcrt1qminer",
      ], ["--allow-net"]);
      await waitFor(() => pool.submits.some((s) => s.accepted), { what: "a first share" });
      child.kill("SIGINT");
      const out = await child.output();
      assertEquals(out.code, 0);
      assertEquals(logLines(out.stdout).at(-1)?.msg, "stopped");
    } finally {
      await pool.close();
    }
  },
});

requires({
  name: "miner CLI: a bad option exits 2 naming it",
  permissions: ["run"],
  async fn() {
    const out = await startMiner([
      "--url",
      "stratum+tcp://127.0.0.1:1",
      "--user",
      "a",
      "--threads",
      "0",
    ])
      .output();
    assertEquals(out.code, 2);
    assert(new TextDecoder().decode(out.stderr).includes("--threads"));
  },
});
