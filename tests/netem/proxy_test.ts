/**
 * The userspace latency bridge (netem/proxy.ts) on loopback: bytes arrive
 * intact both ways, order survives jitter, the configured delay is observed
 * (a lower bound only), half-close and a dead target propagate, many
 * connections at once, and a full queue stops reading.
 */

import assert from "node:assert/strict";
import { waitFor } from "../../lib/ports.ts";
import { requires } from "../harness/permissions.ts";
import {
  bridgeTo,
  connect,
  echo,
  randomBytes,
  readAll,
  readExactly,
  serve,
  sha256Hex,
  writeAll,
} from "./_helpers.ts";

const NET = ["net"] as const;

requires({
  name: "netem proxy: 4 MiB of random bytes echo back intact through a jittered bridge",
  permissions: NET,
  async fn() {
    const server = serve(echo);
    const proxy = bridgeTo(server.port, { delayMs: 2, jitterMs: 2 });
    try {
      const payload = randomBytes(4 << 20);
      const conn = await connect(proxy.port);
      const [, back] = await Promise.all([
        writeAll(conn, payload).then(() => conn.closeWrite()),
        readAll(conn),
      ]);
      conn.close();
      assert.equal(back.length, payload.length);
      assert.equal(await sha256Hex(back), await sha256Hex(payload));
      const stats = proxy.stats();
      assert.equal(stats.targetFailures, 0);
    } finally {
      await proxy.close();
      await server.close();
    }
  },
});

requires({
  name: "netem proxy: different payloads each way (server speaks first) arrive intact",
  permissions: NET,
  async fn() {
    const down = randomBytes(1 << 20);
    const up = randomBytes(3 << 19);
    let received: Uint8Array | null = null;
    const server = serve(async (conn) => {
      const [, got] = await Promise.all([
        writeAll(conn, down).then(() => conn.closeWrite()),
        readAll(conn),
      ]);
      received = got;
    });
    const proxy = bridgeTo(server.port, { delayMs: 1, jitterMs: 3 });
    try {
      const conn = await connect(proxy.port);
      const [, got] = await Promise.all([
        writeAll(conn, up).then(() => conn.closeWrite()),
        readAll(conn),
      ]);
      conn.close();
      assert.equal(await sha256Hex(got), await sha256Hex(down));
      await waitFor(() => received !== null, { what: "the server to read to EOF" });
      assert.equal(await sha256Hex(received!), await sha256Hex(up));
    } finally {
      await proxy.close();
      await server.close();
    }
  },
});

/** Round-trip times of `count` one-byte pings through `port`. */
async function pingTimes(port: number, count: number): Promise<number[]> {
  const conn = await connect(port);
  conn.setNoDelay(true);
  const times: number[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const start = performance.now();
      await writeAll(conn, new Uint8Array([i & 0xff]));
      const [b] = await readExactly(conn, 1);
      times.push(performance.now() - start);
      assert.equal(b, i & 0xff);
    }
  } finally {
    conn.close();
  }
  return times;
}

requires({
  name: "netem proxy: a round trip takes at least twice the one-way delay (jitter 0)",
  permissions: NET,
  async fn() {
    const server = serve(echo);
    const proxy = bridgeTo(server.port, { delayMs: 30, jitterMs: 0 });
    try {
      const times = await pingTimes(proxy.port, 5);
      // Lower bound only (2 ms for timer rounding); never an upper bound on speed.
      for (const t of times) assert.ok(t >= 2 * 30 - 2, `round trip ${t.toFixed(1)} ms < 58 ms`);
    } finally {
      await proxy.close();
      await server.close();
    }
  },
});

requires({
  name: "netem proxy: with jitter the median round trip is at least 2 x (delay - 1.5 x jitter)",
  permissions: NET,
  async fn() {
    const server = serve(echo);
    const proxy = bridgeTo(server.port, { delayMs: 40, jitterMs: 5 });
    try {
      const times = (await pingTimes(proxy.port, 7)).sort((a, b) => a - b);
      const median = times[3];
      // The sum of two N(40, 5) draws falls under 65 ms with probability < 2%;
      // the median of 7 does so far more rarely.
      assert.ok(median >= 65, `median round trip ${median.toFixed(1)} ms < 65 ms`);
    } finally {
      await proxy.close();
      await server.close();
    }
  },
});

requires({
  name: "netem proxy: 2000 separate writes keep their order under jitter larger than the delay",
  permissions: NET,
  async fn() {
    const server = serve(echo);
    const proxy = bridgeTo(server.port, { delayMs: 3, jitterMs: 10 });
    try {
      const conn = await connect(proxy.port);
      conn.setNoDelay(true);
      const count = 2000;
      const expected = new Uint8Array(count * 4);
      const view = new DataView(expected.buffer);
      for (let i = 0; i < count; i++) view.setUint32(i * 4, i);
      const writer = (async () => {
        for (let i = 0; i < count; i++) {
          await writeAll(conn, expected.subarray(i * 4, i * 4 + 4));
          // Yield now and then so writes land as separate chunks at the bridge.
          if (i % 50 === 0) await new Promise((r) => setTimeout(r, 1));
        }
        await conn.closeWrite();
      })();
      const [, back] = await Promise.all([writer, readAll(conn)]);
      conn.close();
      assert.equal(back.length, expected.length);
      const got = new DataView(back.buffer);
      for (let i = 0; i < count; i++) assert.equal(got.getUint32(i * 4), i, `word ${i}`);
      assert.ok(proxy.stats().bytesUp === expected.length);
    } finally {
      await proxy.close();
      await server.close();
    }
  },
});

requires({
  name: "netem proxy: a half-close reaches the target and the reply still comes back",
  permissions: NET,
  async fn() {
    // The server reads to EOF, then answers with the byte count it saw.
    const server = serve(async (conn) => {
      const got = await readAll(conn);
      await writeAll(conn, new TextEncoder().encode(`got ${got.length}\n`));
    });
    const proxy = bridgeTo(server.port, { delayMs: 5, jitterMs: 1 });
    try {
      const conn = await connect(proxy.port);
      await writeAll(conn, randomBytes(100_000));
      await conn.closeWrite();
      const reply = new TextDecoder().decode(await readAll(conn));
      conn.close();
      assert.equal(reply, "got 100000\n");
    } finally {
      await proxy.close();
      await server.close();
    }
  },
});

requires({
  name: "netem proxy: target down -> the client sees EOF; the bridge serves once it is up",
  permissions: NET,
  async fn() {
    // Reserve a port, then free it so nothing listens there.
    const probe = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const deadPort = (probe.addr as Deno.NetAddr).port;
    probe.close();
    const proxy = bridgeTo(deadPort, { delayMs: 1 });
    try {
      const conn = await connect(proxy.port);
      const n = await conn.read(new Uint8Array(16));
      conn.close();
      assertEqualsNull(n);
      await waitFor(() => proxy.stats().targetFailures === 1, { what: "the failure count" });
      // The bridge itself keeps running: bring the target up and go through.
      const listener = Deno.listen({ hostname: "127.0.0.1", port: deadPort });
      const accepted = listener.accept().then(async (c) => {
        await echo(c);
        c.close();
      });
      const again = await connect(proxy.port);
      await writeAll(again, new TextEncoder().encode("hello"));
      assert.equal(new TextDecoder().decode(await readExactly(again, 5)), "hello");
      again.close();
      await accepted;
      listener.close();
    } finally {
      await proxy.close();
    }
  },
});

function assertEqualsNull(n: number | null): void {
  assert.equal(n, null, "expected EOF from a bridge whose target is down");
}

requires({
  name: "netem proxy: the target closing first closes the client side too",
  permissions: NET,
  async fn() {
    const server = serve(async (conn) => {
      await writeAll(conn, new TextEncoder().encode("bye"));
      // returning closes the connection
    });
    const proxy = bridgeTo(server.port, { delayMs: 2 });
    try {
      const conn = await connect(proxy.port);
      const got = new TextDecoder().decode(await readAll(conn));
      conn.close();
      assert.equal(got, "bye");
      await waitFor(() => proxy.stats().active === 0, { what: "the bridged connection to end" });
    } finally {
      await proxy.close();
      await server.close();
    }
  },
});

requires({
  name: "netem proxy: 100 concurrent connections each echo 32 KiB intact",
  permissions: NET,
  async fn() {
    const server = serve(echo);
    const proxy = bridgeTo(server.port, { delayMs: 5, jitterMs: 2 });
    try {
      const one = async () => {
        const payload = randomBytes(32 * 1024);
        const conn = await connect(proxy.port);
        const [, back] = await Promise.all([
          writeAll(conn, payload).then(() => conn.closeWrite()),
          readAll(conn),
        ]);
        conn.close();
        return (await sha256Hex(back)) === (await sha256Hex(payload));
      };
      const results = await Promise.all(Array.from({ length: 100 }, one));
      assert.equal(results.filter((ok) => ok).length, 100);
      await waitFor(() => proxy.stats().active === 0, { what: "all connections to end" });
      assert.equal(proxy.stats().accepted, 100);
    } finally {
      await proxy.close();
      await server.close();
    }
  },
});

requires({
  name: "netem proxy: a target that does not read makes the bridge stop reading (bounded queue)",
  permissions: NET,
  async fn() {
    const { promise: release, resolve: letGo } = Promise.withResolvers<void>();
    const server = serve(async () => {
      await release; // accept, never read
    });
    const limit = 64 * 1024;
    const proxy = bridgeTo(server.port, { maxBufferBytes: limit });
    const conn = await connect(proxy.port);
    try {
      // Far more than the kernel buffers plus the bridge queue can hold.
      const writing = writeAll(conn, randomBytes(32 << 20)).catch(() => {});
      await waitFor(() => proxy.stats().active === 1, { what: "the connection" });
      await waitFor(() => proxy.stats().pauses >= 1, {
        what: "the bridge to pause reading",
        timeoutMs: 20_000,
      });
      const paused = proxy.stats();
      assert.ok(paused.maxQueued <= limit + 64 * 1024, `queued ${paused.maxQueued} bytes`);
      conn.close();
      letGo();
      await writing;
      await waitFor(() => proxy.stats().active === 0, { what: "the connection to end" });
      const stats = proxy.stats();
      assert.ok(stats.pauses >= 1, "the bridge never paused");
      // At most one read (64 KiB) beyond the limit.
      assert.ok(stats.maxQueued <= limit + 64 * 1024, `queued ${stats.maxQueued} bytes`);
    } finally {
      letGo();
      try {
        conn.close();
      } catch {
        // closed above
      }
      await proxy.close();
      await server.close();
    }
  },
});
