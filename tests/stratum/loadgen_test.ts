/**
 * The C load generator (bench/loadgen) against servers whose behaviour is
 * known: the in-process FakePool, which checks every share's hash (so shares
 * the generator hashed for must really meet the target), and the C
 * fake_pool, which answers at speed and can reject on purpose.
 */
import { assert, assertEquals } from "../assert.ts";
import { requires } from "../harness/permissions.ts";
import { FakePool } from "./fake_pool.ts";

const LOADGEN_DIR = new URL("../../bench/loadgen/", import.meta.url).pathname;
const decoder = new TextDecoder();

interface LoadReport {
  ready: number;
  sent: number;
  accepted: number;
  rejected: number;
  unanswered: number;
  rejects: Record<string, { count: number; message: string }>;
  latency_us: { count: number; p50: number; p99: number; p999: number };
  generator: { hashes_setup: number; hashes_inline: number };
  engine?: { rss_kb_start: number };
  idle_bytes_per_conn?: number;
}

let built: Promise<void> | null = null;
/** Builds the generator once per test run. */
function build(): Promise<void> {
  built ??= (async () => {
    const out = await new Deno.Command("make", { args: ["-s", "-C", LOADGEN_DIR] }).output();
    if (out.code !== 0) throw new Error(`make failed: ${decoder.decode(out.stderr)}`);
  })();
  return built;
}

async function load(port: number, args: string[]): Promise<LoadReport> {
  await build();
  const out = await new Deno.Command(`${LOADGEN_DIR}stratum_load`, {
    args: ["--port", String(port), "--user", "bcrt1qload.w", "--json", ...args],
  }).output();
  const stderr = decoder.decode(out.stderr);
  assertEquals(out.code, 0, stderr);
  return JSON.parse(decoder.decode(out.stdout).trim().split("\n").at(-1)!);
}

/** Starts the C fake_pool on a free port; returns its port and a stop function. */
async function startCFakePool(args: string[] = []) {
  await build();
  const child = new Deno.Command(`${LOADGEN_DIR}fake_pool`, {
    args: ["--port", "0", ...args],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("fake_pool exited before listening");
    text += decoder.decode(value);
  }
  reader.releaseLock();
  await child.stdout.cancel();
  const port = Number(/listening (\d+)/.exec(text)![1]);
  return {
    port,
    pid: child.pid,
    async stop() {
      child.kill("SIGKILL");
      await child.status;
    },
  };
}

requires({
  name: "loadgen: shares hashed by the generator pass the FakePool's real validation",
  permissions: ["run", "net", "read"],
  async fn() {
    // 1e-9: about one header in four is a share, so the generator must hash.
    const pool = new FakePool({ difficulty: 1e-9 });
    try {
      const r = await load(pool.port, ["--conns", "4", "--rate", "400", "--duration", "0.5"]);
      assertEquals(r.ready, 4);
      assert(r.sent > 0, "nothing sent");
      assertEquals(r.rejected, 0, JSON.stringify(r.rejects));
      assertEquals(r.accepted, r.sent);
      assertEquals(r.unanswered, 0);
      assert(r.generator.hashes_setup > r.sent, "expected prehashing");
      assertEquals(pool.submits.filter((s) => s.accepted).length, r.accepted);
      assertEquals(r.latency_us.count, r.sent);
    } finally {
      await pool.close();
    }
  },
});

requires({
  name: "loadgen: at difficulty <= 2^-32 nothing is hashed and every share is accepted",
  permissions: ["run", "net", "read"],
  async fn() {
    const pool = new FakePool({ difficulty: 1e-10 });
    try {
      const r = await load(pool.port, ["--conns", "3", "--rate", "300", "--duration", "0.5"]);
      assert(r.sent > 0);
      assertEquals(r.accepted, r.sent);
      assertEquals(r.generator.hashes_setup + r.generator.hashes_inline, 0);
    } finally {
      await pool.close();
    }
  },
});

requires({
  name: "loadgen: --hash miss sends headers that are never blocks, even at regtest's target",
  permissions: ["run", "net", "read"],
  async fn() {
    // Regtest bits: about half of all headers are blocks; at 1e-10 every header is a share.
    const pool = new FakePool({ difficulty: 1e-10, bits: 0x207fffff });
    try {
      const r = await load(pool.port, [
        ...["--conns", "3", "--rate", "600", "--duration", "0.5", "--hash", "miss"],
      ]);
      assert(r.sent > 50, `sent ${r.sent}`);
      assertEquals(r.accepted, r.sent);
      assertEquals(pool.submits.length, r.sent);
      assertEquals(pool.submits.filter((s) => s.block).length, 0, "a block was sent");
      const hashes = r.generator.hashes_setup + r.generator.hashes_inline;
      assert(hashes > r.sent, `hashed ${hashes} for ${r.sent} submits`);
    } finally {
      await pool.close();
    }
  },
});

requires({
  name: "loadgen: without --hash miss, regtest's target makes blocks of random headers",
  permissions: ["run", "net", "read"],
  async fn() {
    const pool = new FakePool({ difficulty: 1e-10, bits: 0x207fffff });
    try {
      const r = await load(pool.port, ["--conns", "3", "--rate", "600", "--duration", "0.5"]);
      const blocks = pool.submits.filter((s) => s.block).length;
      assert(r.sent > 50, `sent ${r.sent}`);
      assert(blocks > r.sent / 4 && blocks < (r.sent * 3) / 4, `${blocks} blocks of ${r.sent}`);
    } finally {
      await pool.close();
    }
  },
});

requires({
  name: "loadgen: saturate counts rejects by code and message",
  permissions: ["run", "net", "read"],
  async fn() {
    const pool = await startCFakePool(["--reject-every", "10"]);
    try {
      const r = await load(pool.port, ["--conns", "4", "--saturate", "--duration", "0.3"]);
      assert(r.sent > 100, `sent ${r.sent}`);
      assertEquals(r.accepted + r.rejected, r.sent);
      assertEquals(r.rejects["23"].count, r.rejected);
      assertEquals(r.rejects["23"].message, "low difficulty share");
      assert(Math.abs(r.rejected * 10 - r.sent) <= 10, `${r.rejected} of ${r.sent}`);
      assert(r.latency_us.p50 <= r.latency_us.p99 && r.latency_us.p99 <= r.latency_us.p999);
    } finally {
      await pool.stop();
    }
  },
});

requires({
  name: "loadgen: idle mode holds authorized connections and reports server memory",
  permissions: ["run", "net", "read"],
  async fn() {
    const pool = await startCFakePool();
    try {
      const r = await load(pool.port, [
        "--idle",
        "200",
        "--duration",
        "0.2",
        "--pid",
        String(pool.pid),
      ]);
      assertEquals(r.ready, 200);
      assertEquals(r.sent, 0);
      assert(r.engine !== undefined && r.engine.rss_kb_start > 0);
      assert(typeof r.idle_bytes_per_conn === "number");
    } finally {
      await pool.stop();
    }
  },
});
