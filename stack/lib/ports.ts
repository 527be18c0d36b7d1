/** Free loopback TCP ports, and waiting for a port or any condition. */

/** A TCP port on 127.0.0.1 that nothing listens on right now. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
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
