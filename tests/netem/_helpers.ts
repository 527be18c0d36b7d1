/** Loopback servers and clients for the latency-bridge tests. */

import type { ProxyConfig } from "../../netem/config.ts";
import { type ProxyHandle, startProxy } from "../../netem/proxy.ts";

export interface TestServer {
  port: number;
  close(): Promise<void>;
}

/**
 * A TCP server on a free loopback port; `handle` runs per connection and the
 * connection is closed after it returns.
 */
export function serve(handle: (conn: Deno.TcpConn) => Promise<void>): TestServer {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns = new Set<Deno.TcpConn>();
  const tasks = new Set<Promise<void>>();
  const accepting = (async () => {
    while (true) {
      let conn: Deno.TcpConn;
      try {
        conn = await listener.accept();
      } catch {
        return;
      }
      conns.add(conn);
      const task = handle(conn).catch(() => {}).finally(() => {
        conns.delete(conn);
        tasks.delete(task);
        closeQuietly(conn);
      });
      tasks.add(task);
    }
  })();
  return {
    port: (listener.addr as Deno.NetAddr).port,
    async close() {
      listener.close();
      await accepting;
      for (const conn of conns) closeQuietly(conn);
      await Promise.all([...tasks]);
    },
  };
}

export function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

/** Echoes everything back; half-closes its side once the client has. */
export const echo = async (conn: Deno.TcpConn) => {
  const buf = new Uint8Array(64 * 1024);
  while (true) {
    const n = await conn.read(buf);
    if (n === null) break;
    await writeAll(conn, buf.subarray(0, n));
  }
  await conn.closeWrite();
};

export async function writeAll(conn: Deno.Conn, data: Uint8Array): Promise<void> {
  let written = 0;
  while (written < data.length) written += await conn.write(data.subarray(written));
}

/** Reads until EOF. */
export async function readAll(conn: Deno.Conn): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  const buf = new Uint8Array(64 * 1024);
  while (true) {
    const n = await conn.read(buf);
    if (n === null) break;
    parts.push(buf.slice(0, n));
    total += n;
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Reads exactly `length` bytes (throws on early EOF). */
export async function readExactly(conn: Deno.Conn, length: number): Promise<Uint8Array> {
  const out = new Uint8Array(length);
  let at = 0;
  while (at < length) {
    const n = await conn.read(out.subarray(at));
    if (n === null) throw new Error(`EOF after ${at} of ${length} bytes`);
    at += n;
  }
  return out;
}

export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length);
  for (let at = 0; at < length; at += 65536) {
    crypto.getRandomValues(out.subarray(at, Math.min(length, at + 65536)));
  }
  return out;
}

export async function sha256Hex(data: Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data as Uint8Array<ArrayBuffer>);
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, "0")).join("");
}

/** A bridge from a free loopback port to 127.0.0.1:`targetPort`. */
export function bridgeTo(
  targetPort: number,
  settings: Partial<Omit<ProxyConfig, "routes">> = {},
): ProxyHandle & { port: number } {
  const proxy = startProxy({
    routes: [{
      listen: { hostname: "127.0.0.1", port: 0 },
      target: { hostname: "127.0.0.1", port: targetPort },
    }],
    delayMs: 0,
    jitterMs: 0,
    maxBufferBytes: 1 << 20,
    connectTimeoutMs: 5_000,
    name: "netem-test",
    region: "test",
    logLevel: "error",
    ...settings,
  });
  return Object.assign(proxy, { port: proxy.listeners[0].port });
}

export function connect(port: number): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port });
}
