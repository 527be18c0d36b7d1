/** Free loopback TCP ports, and waiting for a port or any condition. */

/**
 * A TCP port on 127.0.0.1 that nothing listens on right now, picked at random
 * above the kernel's ephemeral range. A port the kernel hands out for `port: 0`
 * comes from that range, where any process's next outgoing connection may take
 * it as its source port before our server binds it ("Address already in use"
 * on a busy machine); above the range only another listener can.
 */
export function freePort(): number {
  const [low, high] = PORT_POOL;
  for (let attempt = 0; attempt < 64 && high > low; attempt++) {
    const port = low + Math.floor(Math.random() * (high - low + 1));
    if (canListen(port)) return port;
  }
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** Ports above the ephemeral range (Linux default 32768-60999, so 61000-65535). */
const PORT_POOL: readonly [number, number] = (() => {
  let ephemeralHigh = 60999;
  const path = "/proc/sys/net/ipv4/ip_local_port_range";
  try {
    // Never a permission prompt: without read access keep the default.
    if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") throw 0;
    const range = Deno.readTextFileSync(path).trim();
    const high = Number(range.split(/\s+/)[1]);
    if (Number.isInteger(high)) ephemeralHigh = high;
  } catch {
    // Not Linux, /proc not readable or no permission: keep the default.
  }
  return [Math.min(ephemeralHigh + 1, 65535), 65535];
})();

function canListen(port: number): boolean {
  try {
    Deno.listen({ hostname: "127.0.0.1", port }).close();
    return true;
  } catch {
    return false;
  }
}

/** Resolves once a TCP connection to host:port succeeds, or throws after `timeoutMs`. */
export async function waitForPort(port: number, timeoutMs = 15_000, hostname = "127.0.0.1") {
  await waitFor(async () => {
    try {
      const conn = await Deno.connect({ hostname, port });
      conn.close();
      return true;
    } catch {
      return false;
    }
  }, { timeoutMs, what: `${hostname}:${port} to accept connections` });
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Says what was awaited in the timeout error. */
  what?: string;
}

/** What `T` can be when it is truthy. */
export type Truthy<T> = Exclude<T, false | 0 | 0n | "" | null | undefined>;

/** Polls `condition` until it returns a truthy value, which it returns. */
export async function waitFor<T>(
  condition: () => T | Promise<T>,
  { timeoutMs = 15_000, intervalMs = 25, what = "condition" }: WaitOptions = {},
): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (true) {
    try {
      const value = await condition();
      if (value) return value as Truthy<T>;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const cause = lastError instanceof Error ? `: last error: ${lastError.message}` : "";
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
