/**
 * Readiness probes: each answers "does this service serve requests now?" with
 * one cheap protocol exchange, never by waiting a fixed time.
 */

const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** Opens a TCP connection, optionally writes `send`, reads until `done(text)` or EOF. */
async function exchange(
  port: number,
  send: string | null,
  done: (text: string) => boolean,
  hostname = "127.0.0.1",
): Promise<string> {
  const conn = await Deno.connect({ hostname, port });
  try {
    if (send !== null) await conn.write(encoder.encode(send));
    let text = "";
    const buf = new Uint8Array(4096);
    const timer = setTimeout(() => conn.close(), 2_000);
    try {
      while (!done(text)) {
        const n = await conn.read(buf);
        if (n === null) break;
        text += decoder.decode(buf.subarray(0, n));
      }
    } finally {
      clearTimeout(timer);
    }
    return text;
  } finally {
    try {
      conn.close();
    } catch {
      // closed by the timer
    }
  }
}

/** True when something accepts TCP connections on 127.0.0.1:`port`. */
export async function tcpOpen(port: number): Promise<boolean> {
  try {
    (await Deno.connect({ hostname: "127.0.0.1", port })).close();
    return true;
  } catch {
    return false;
  }
}

/** True when nats-server on `port` greets with an INFO line that says JetStream is on. */
export async function natsJetStreamReady(port: number): Promise<boolean> {
  try {
    const text = await exchange(port, null, (t) => t.includes("\r\n"));
    if (!text.startsWith("INFO ")) return false;
    const info = JSON.parse(text.slice(5, text.indexOf("\r\n"))) as { jetstream?: boolean };
    return info.jetstream === true;
  } catch {
    return false;
  }
}

/** True when redis-server on `port` answers PING with PONG (not LOADING). */
export async function redisPong(port: number): Promise<boolean> {
  try {
    const text = await exchange(port, "PING\r\n", (t) => t.includes("\r\n"));
    return text.startsWith("+PONG");
  } catch {
    return false;
  }
}

/** True when `pg_isready` says the server on `port` accepts connections. */
export async function postgresAccepting(
  pgBin: string,
  port: number,
  user: string,
): Promise<boolean> {
  const { code } = await new Deno.Command(`${pgBin}/pg_isready`, {
    args: ["-q", "-h", "127.0.0.1", "-p", String(port), "-U", user, "-d", "postgres"],
    stdout: "null",
    stderr: "null",
  }).output();
  return code === 0;
}

/** True when a bitcoind-compatible JSON-RPC server answers `getblockchaininfo`. */
export async function bitcoinRpcReady(
  port: number,
  user: string,
  password: string,
): Promise<boolean> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Basic ${btoa(`${user}:${password}`)}`,
      },
      body: JSON.stringify({ jsonrpc: "1.0", id: "up", method: "getblockchaininfo", params: [] }),
      signal: AbortSignal.timeout(2_000),
    });
    const body = await response.text();
    if (!response.ok) return false;
    const parsed = JSON.parse(body) as { result?: unknown; error?: unknown };
    return parsed.error == null && parsed.result != null;
  } catch {
    return false;
  }
}

/** True when an HTTP server answers GET `url` with any status. */
export async function httpAnswers(url: string): Promise<boolean> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.body?.cancel();
    return true;
  } catch {
    return false;
  }
}
