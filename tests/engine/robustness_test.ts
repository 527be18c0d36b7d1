/**
 * Hostile and broken input leaves the engine serving other miners: binary
 * garbage, a 1 MB line, half a JSON object, unknown methods, a reader that
 * never reads, 1,000 connections from one address (with the per-IP limit),
 * and the memory an idle authorized connection costs.
 */

import { assert, assertEquals } from "../assert.ts";
import { type BitcoinNode, startBitcoinNode } from "../../lib/harness/bitcoin_node.ts";
import { type Engine, startEngine } from "../../lib/harness/engine.ts";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { waitFor } from "../../lib/ports.ts";
import { StratumClient } from "../../lib/stratum/client.ts";
import {
  connectMiner,
  mineShare,
  regtestAddress,
  submitShare,
} from "../../lib/harness/stratum_miner.ts";

/** Blocks are rare at these bits, so accepted shares do not change the tip. */
const HARD_BITS = "1e00ffff";

async function withEngine(
  overrides: Record<string, unknown>,
  fn: (engine: Engine, node: BitcoinNode) => Promise<void>,
) {
  const node = await startBitcoinNode({ testbits: HARD_BITS });
  try {
    const engine = await startEngine(node, { mindiff: 1e-9, startdiff: 1e-9, ...overrides });
    try {
      await fn(engine, node);
    } finally {
      assertEquals(await engine.stop(), 0, `engine exits cleanly:\n${engine.logs().slice(-2000)}`);
    }
  } finally {
    await node.stop();
  }
}

/** A well-behaved miner still gets a share accepted. */
async function assertStillServing(engine: Engine) {
  const address = regtestAddress();
  const { client, job } = await connectMiner(engine, address);
  try {
    const share = mineShare(client, job);
    assertEquals(await submitShare(client, address, share), { result: true, error: null });
  } finally {
    await client.close();
  }
}

/** Resolves when the server closes the connection (EOF or reset). */
async function serverCloses(conn: Deno.TcpConn): Promise<void> {
  const buf = new Uint8Array(65536);
  try {
    while ((await conn.read(buf)) !== null) {
      // drain until EOF
    }
  } catch {
    // reset counts as closed
  }
}

requires({
  name: "engine: binary garbage, half JSON and unknown methods get errors; others keep mining",
  permissions: SERVICE_PERMISSIONS,
  standInOnly: "-testbits",
  fn: () =>
    withEngine({}, async (engine) => {
      const address = regtestAddress();
      const { client: steady, job } = await connectMiner(engine, address);

      // Half a JSON object, then a valid request on the same connection.
      const half = await StratumClient.connect({ port: engine.stratumPort });
      await half.sendLine('{"id": 1, "method": "mining.subscr');
      await waitFor(() => half.unexpected.length > 0, { what: "a parse error" });
      const parsed = JSON.parse(half.unexpected[0]);
      assertEquals(parsed.id, null);
      assertEquals(parsed.error[0], 20);
      const unknown = await half.call("mining.dance", []);
      assertEquals(unknown.error?.code, 20);
      assert(unknown.error?.message.includes("Unknown method"), unknown.error?.message);
      const notObject = await half.call("mining.subscribe", "x" as unknown as unknown[]);
      assertEquals(notObject.error?.code, 20);
      await half.subscribe();
      assert(!half.isClosed, "one bad line does not cost the connection");
      await half.close();

      // Binary garbage with newlines: errors, then a disconnect.
      const garbage = await Deno.connect({ hostname: "127.0.0.1", port: engine.stratumPort });
      const noise = crypto.getRandomValues(new Uint8Array(64 * 1024));
      for (let i = 0; i < noise.length; i += 97) noise[i] = 0x0a;
      await garbage.write(noise).catch(() => 0);
      await serverCloses(garbage);
      garbage.close();

      const share = mineShare(steady, job);
      assertEquals(await submitShare(steady, address, share), { result: true, error: null });
      await steady.close();
      await assertStillServing(engine);
    }),
});

requires({
  name: "engine: a 1 MB line is refused and closed without harm",
  permissions: SERVICE_PERMISSIONS,
  standInOnly: "-testbits",
  fn: () =>
    withEngine({ max_line_bytes: 16384 }, async (engine) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: engine.stratumPort });
      const line = new TextEncoder().encode('{"id":1,"method":"' + "a".repeat(1 << 20));
      const writing = (async () => {
        try {
          for (let off = 0; off < line.length;) off += await conn.write(line.subarray(off));
        } catch {
          // the engine closed first
        }
      })();
      await serverCloses(conn);
      await writing;
      conn.close();
      await waitFor(() => engine.logs().includes('"reason":"line too long"'));
      await assertStillServing(engine);
    }),
});

requires({
  name: "engine: a miner that never reads is cut off at max_pending_bytes",
  permissions: SERVICE_PERMISSIONS,
  standInOnly: "-testbits",
  fn: () =>
    withEngine({ max_pending_bytes: 4096 }, async (engine) => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: engine.stratumPort });
      // Few requests with big answers (the engine limits the request rate):
      // mining.configure echoes every unknown extension, ~14 KB per answer.
      const extensions = Array.from({ length: 200 }, (_, i) => `ext-${i}-${"u".repeat(50)}`);
      const request = new TextEncoder().encode(
        JSON.stringify({ id: 1, method: "mining.configure", params: [extensions, {}] }) + "\n",
      );
      const batch = new Uint8Array(request.length * 20);
      for (let i = 0; i < 20; i++) batch.set(request, i * request.length);
      let closed = false;
      for (let round = 0; round < 500 && !closed; round++) {
        try {
          await conn.write(batch);
        } catch {
          closed = true;
        }
        if (engine.logs().includes('"reason":"slow reader: too many unsent bytes"')) break;
      }
      await waitFor(() => engine.logs().includes("slow reader"), { what: "slow-reader close" });
      conn.close();
      await assertStillServing(engine);
    }),
});

requires({
  name: "engine: 1,000 connections from one address hit the per-IP limit; miners keep mining",
  permissions: SERVICE_PERMISSIONS,
  standInOnly: "-testbits",
  fn: () =>
    withEngine({ max_conns_per_ip: 200 }, async (engine) => {
      const address = regtestAddress();
      const { client: steady, job } = await connectMiner(engine, address);
      const flood = await Promise.all(
        Array.from(
          { length: 1000 },
          () => Deno.connect({ hostname: "127.0.0.1", port: engine.stratumPort }),
        ),
      );
      // Over the limit the engine closes at once: 199 fit beside the steady miner.
      let refused = 0;
      const reads = flood.map((conn) => serverCloses(conn).then(() => refused++));
      await waitFor(() => refused >= 801, { what: "801 refused connections" });
      const share = mineShare(steady, job);
      assertEquals(await submitShare(steady, address, share), { result: true, error: null });
      for (const conn of flood) conn.close();
      await Promise.all(reads);
      await steady.close();
      await assertStillServing(engine);
    }),
});

function residentKiB(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!match) throw new Error("no VmRSS");
  return Number(match[1]);
}

/** Sanitizer builds pad every allocation: memory figures mean nothing there. */
function sanitizerBuild(): boolean {
  const read = (variable: string) =>
    Deno.permissions.querySync({ name: "env", variable }).state === "granted"
      ? Deno.env.get(variable) ?? ""
      : "";
  return read("CKPOOL_BIN").includes("asan") || read("TBG_ENGINE_FLAVOUR") === "asan";
}

(sanitizerBuild() ? Deno.test.ignore : requires)({
  name: "engine: an idle authorized connection costs under 4 KB of engine memory " +
    "(skipped under ASan: its redzones and quarantine make RSS per connection meaningless)",
  permissions: SERVICE_PERMISSIONS,
  standInOnly: "-testbits",
  fn: () =>
    withEngine({ max_conns_per_ip: 5000 }, async (engine) => {
      const count = 1000;
      const warmup = await Promise.all(
        Array.from({ length: 50 }, () => connectMiner(engine, regtestAddress())),
      );
      const before = residentKiB(engine.process.pid);
      const miners = [];
      for (let i = 0; i < count; i += 100) {
        miners.push(
          ...await Promise.all(
            Array.from({ length: 100 }, () => connectMiner(engine, regtestAddress())),
          ),
        );
      }
      const after = residentKiB(engine.process.pid);
      const perConnection = ((after - before) * 1024) / count;
      console.log(`engine memory per idle authorized connection: ${perConnection.toFixed(0)} B`);
      assert(perConnection < 4096, `${perConnection} bytes per connection`);
      await Promise.all([...warmup, ...miners].map(({ client }) => client.close()));
    }),
});
