/**
 * The engine's lifecycle: usage, configuration errors (one line naming the
 * key, exit 2), unknown keys (a warning), waiting for an unreachable node,
 * btcd failover, SIGHUP reloading coinbase_sigs and SIGTERM ending within
 * two seconds with exit code 0.
 */

import { assert, assertEquals } from "../assert.ts";
import { startBitcoinNode } from "../../lib/harness/bitcoin_node.ts";
import {
  baseConfig,
  engineBinary,
  runEngineOnce,
  startEngine,
  waitForLog,
  writeConfig,
} from "../../lib/harness/engine.ts";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { freePort, waitFor } from "../../lib/ports.ts";
import { spawnManaged } from "../../lib/process.ts";
import { toHex } from "../../lib/bitcoin/mod.ts";
import {
  asciiHex,
  connectMiner,
  mineShare,
  regtestAddress,
  submitShare,
} from "../../lib/harness/stratum_miner.ts";

const FAKE_NODE = { rpcHost: "127.0.0.1", rpcPort: 1, user: "u", pass: "p" };

requires({
  name: "engine: -h prints usage and exits 0; no -c is a usage error (exit 2)",
  permissions: ["run", "read", "write", "env"],
  fn: async () => {
    const help = await runEngineOnce(["-h"]);
    assertEquals(help.code, 0);
    assert(help.stdout.includes("usage: ckpool -c"), help.stdout);
    const none = await runEngineOnce([]);
    assertEquals(none.code, 2);
    assert(none.stderr.includes("usage"), none.stderr);
  },
});

/** Each case: a change to a valid config and the start of the one error line. */
const CONFIG_ERRORS: Array<[string, (c: Record<string, unknown>) => void, string]> = [
  ["missing btcd", (c) => delete c.btcd, "config: btcd is required"],
  ["btcd not a list", (c) => (c.btcd = "x"), "config: btcd must be"],
  ["btcd url without port", (c) => (c.btcd = [{ url: "localhost" }]), "config: btcd[0].url"],
  ["serverurl port 0", (c) => (c.serverurl = ["0.0.0.0:0"]), "config: serverurl[0] must be"],
  ["mindiff a string", (c) => (c.mindiff = "1"), "config: mindiff must be a number"],
  ["startdiff below mindiff", (c) => {
    c.mindiff = 1;
    c.startdiff = 0.5;
  }, "config: startdiff must be at least mindiff"],
  ["nonce1length 1", (c) => (c.nonce1length = 1), "config: nonce1length must be 2-8"],
  ["nonce2length 9", (c) => (c.nonce2length = 9), "config: nonce2length must be 2-8"],
  ["update_interval 0", (c) => (c.update_interval = 0), "config: update_interval must be"],
  ["zmqblock not tcp", (c) => (c.zmqblock = "http://x"), "config: zmqblock must start"],
  ["mode unknown", (c) => (c.mode = "relay"), "config: mode must be"],
  ["passthrough without primary", (c) => (c.mode = "passthrough"), "config: primary is required"],
  ["primary.port out of range", (c) => {
    c.mode = "passthrough";
    c.primary = { host: "127.0.0.1", port: 70000, auth_token: "t" };
  }, "config: primary.port must be 1-65535"],
  ["events.enabled not a bool", (c) => (c.events = { enabled: "yes" }), "config: events.enabled"],
  ["max_line_bytes too small", (c) => (c.max_line_bytes = 10), "config: max_line_bytes must be"],
  ["metrics_listen malformed", (c) => (c.metrics_listen = "9100"), "config: metrics_listen"],
  ["region with spaces", (c) => (c.region = "eu west"), "config: region must be"],
  ["request_rate zero", (c) => (c.request_rate = 0), "config: request_rate must be"],
  ["max_connections negative", (c) => (c.max_connections = -1), "config: max_connections"],
  [
    "max_pending_total_bytes too small",
    (c) => (c.max_pending_total_bytes = 1024),
    "config: max_pending_total_bytes must be",
  ],
  ["maxdiff below mindiff", (c) => {
    c.mindiff = 10;
    c.startdiff = 10;
    c.maxdiff = 5;
  }, "config: maxdiff must be"],
  [
    "coinbase_sigs missing file",
    (c) => (c.coinbase_sigs = "/nonexistent/sigs.json"),
    "config: coinbase_sigs",
  ],
];

requires({
  name: "engine: every bad config value stops start-up with one line naming the key, exit 2",
  permissions: ["run", "read", "write", "env", "net"],
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ckpool-config-" });
    try {
      for (const [what, change, expected] of CONFIG_ERRORS) {
        const config = baseConfig(FAKE_NODE, freePort(), freePort());
        change(config);
        const path = await writeConfig(dir, config);
        const { code, stderr } = await runEngineOnce(["-c", path]);
        assertEquals(code, 2, `${what}: exit code`);
        const lines = stderr.trimEnd().split("\n");
        assertEquals(lines.length, 1, `${what}: one line, got ${stderr}`);
        assert(lines[0].startsWith(expected), `${what}: got "${lines[0]}"`);
      }
      const bad = `${dir}/broken.json`;
      await Deno.writeTextFile(bad, '{"btcd": [');
      const broken = await runEngineOnce(["-c", bad]);
      assertEquals(broken.code, 2);
      assert(broken.stderr.startsWith("config: ") && broken.stderr.includes("line 1"));
      const missing = await runEngineOnce(["-c", `${dir}/absent.json`]);
      assertEquals(missing.code, 2);
      assert(missing.stderr.startsWith("config: cannot read"), missing.stderr);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

requires({
  name: "engine: waits for an unreachable node, logging, and still stops on SIGTERM",
  permissions: SERVICE_PERMISSIONS,
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "ckpool-wait-" });
    const config = baseConfig({ ...FAKE_NODE, rpcPort: freePort() }, freePort(), freePort());
    config.bogus_key = true;
    const path = await writeConfig(dir, config);
    const proc = spawnManaged({
      name: "ckpool",
      cmd: await engineBinary(),
      args: ["-c", path],
      logPath: `${dir}/log`,
    });
    try {
      await waitFor(() => proc.log().includes("waiting for the node"), { what: "retry log" });
      assert(proc.log().includes('unknown key \\"bogus_key\\" ignored'), proc.log());
      assertEquals(await proc.stop(2_000), 0);
    } finally {
      await proc.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

requires({
  name: "engine: SIGTERM with miners connected exits 0 within 2 s",
  permissions: SERVICE_PERMISSIONS,
  fn: async () => {
    const node = await startBitcoinNode();
    try {
      const engine = await startEngine(node);
      const miners = await Promise.all(
        [1, 2, 3].map(() => connectMiner(engine, regtestAddress())),
      );
      // SIGKILL follows after 2 s: a clean exit code means it stopped in time.
      assertEquals(await engine.stop(2_000), 0);
      await Promise.all(miners.map(({ client }) => client.closed));
      await Promise.all(miners.map(({ client }) => client.close()));
      assert(engine.logs().includes('"msg":"stopped"'));
    } finally {
      await node.stop();
    }
  },
});

requires({
  name: "engine: fails over to the next btcd entry when the first is down",
  permissions: SERVICE_PERMISSIONS,
  fn: async () => {
    const node = await startBitcoinNode();
    try {
      const dead = { url: `127.0.0.1:${freePort()}`, auth: "x", pass: "y" };
      const live = { url: `127.0.0.1:${node.rpcPort}`, auth: node.user, pass: node.pass };
      const engine = await startEngine(node, { btcd: [dead, live] });
      try {
        const address = regtestAddress();
        const { client, job } = await connectMiner(engine, address);
        const share = mineShare(client, job, { difficulty: 1e-9 });
        assertEquals(await submitShare(client, address, share), { result: true, error: null });
        await waitFor(async () => (await node.rpc<number>("getblockcount")) === 1);
        await client.close();
      } finally {
        assertEquals(await engine.stop(), 0);
      }
    } finally {
      await node.stop();
    }
  },
});

requires({
  name: "engine: SIGHUP reloads coinbase_sigs; signatures are cut to 32 printable bytes",
  permissions: SERVICE_PERMISSIONS,
  fn: async () => {
    const node = await startBitcoinNode();
    const dir = await Deno.makeTempDir({ prefix: "ckpool-sighup-" });
    try {
      const address = regtestAddress();
      const sigs = `${dir}/sigs.json`;
      await Deno.writeTextFile(sigs, JSON.stringify({ [address]: "first-sig" }));
      const engine = await startEngine(node, { coinbase_sigs: sigs, update_interval: 1 });
      try {
        const { client, job } = await connectMiner(engine, address);
        assert(toHex(job.coinb1).includes(asciiHex("first-sig")));
        const long = "second\u00e9sig-" + "x".repeat(40);
        await Deno.writeTextFile(sigs, JSON.stringify({ [address]: long }));
        engine.signal("SIGHUP");
        await waitForLog(engine, (l) => String(l.msg).startsWith("SIGHUP: reloaded 1"));
        assert(engine.logs().includes("cut to 32 printable ASCII bytes"));
        const expected = ("secondsig-" + "x".repeat(40)).slice(0, 32);
        const next = await client.waitForJob((j) => toHex(j.coinb1).includes(asciiHex(expected)));
        assert(!toHex(next.coinb1).includes(asciiHex(expected + "x")), "cut at 32 bytes");
        await client.close();
      } finally {
        assertEquals(await engine.stop(), 0);
      }
    } finally {
      await node.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

requires({
  name: "engine: a coinbase_sigs key in upper-case bech32 matches the miner's address",
  permissions: SERVICE_PERMISSIONS,
  fn: async () => {
    const node = await startBitcoinNode();
    const dir = await Deno.makeTempDir({ prefix: "ckpool-sigcase-" });
    try {
      const address = regtestAddress();
      const sigs = `${dir}/sigs.json`;
      // Bech32 is case-insensitive: a file written in upper case still applies.
      await Deno.writeTextFile(sigs, JSON.stringify({ [address.toUpperCase()]: "upper-sig" }));
      const engine = await startEngine(node, { coinbase_sigs: sigs });
      try {
        const { client, job } = await connectMiner(engine, address);
        assert(toHex(job.coinb1).includes(asciiHex("upper-sig")), "signature applied");
        await client.close();
      } finally {
        assertEquals(await engine.stop(), 0);
      }
    } finally {
      await node.stop();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

requires({
  name: "engine: rides out a node restart and mines again afterwards",
  permissions: SERVICE_PERMISSIONS,
  fn: async () => {
    const node = await startBitcoinNode();
    try {
      const engine = await startEngine(node);
      try {
        const address = regtestAddress();
        await node.kill();
        await waitForLog(engine, (l) => l.component === "generator" && l.level === "warn");
        await node.restart();
        await waitForLog(engine, (l) => String(l.msg).includes("answers again"));
        const { client, job } = await connectMiner(engine, address);
        const share = mineShare(client, job, { difficulty: 1e-9 });
        assertEquals(await submitShare(client, address, share), { result: true, error: null });
        await waitFor(async () => (await node.rpc<number>("getblockcount")) >= 1);
        await client.close();
      } finally {
        assertEquals(await engine.stop(), 0);
      }
    } finally {
      await node.stop();
    }
  },
});
