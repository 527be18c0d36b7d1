/**
 * One bridged connection: connects to the route's target, then runs a
 * DelayedPipe in each direction. A half-close travels on after the queued
 * bytes; an error in either direction (reset, broken pipe) closes both sides.
 * If the target cannot be reached, the client's connection is closed (FIN).
 */

import type { Endpoint } from "./config.ts";
import { DelayLine } from "./delay.ts";
import type { BridgeLogger } from "./log.ts";
import { DelayedPipe, type DirectionStats } from "./pipe.ts";

export interface ConnectionOptions {
  target: Endpoint;
  sampler: () => number;
  maxBufferBytes: number;
  connectTimeoutMs: number;
  log: BridgeLogger;
  id: number;
}

export interface ConnectionResult {
  id: number;
  connected: boolean;
  /** client -> target, target -> client */
  up: DirectionStats | null;
  down: DirectionStats | null;
  error: string | null;
}

function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

async function connectWithTimeout(target: Endpoint, timeoutMs: number): Promise<Deno.TcpConn> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const attempt = Deno.connect({ hostname: target.hostname, port: target.port });
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`connect timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([attempt, timeout]);
  } catch (error) {
    attempt.then(closeQuietly, () => {});
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** A running bridged connection; `abort()` tears it down at once. */
export class BridgedConnection {
  #pipes: DelayedPipe[] = [];
  #conns: Deno.Conn[] = [];
  #aborted = false;

  constructor(private readonly client: Deno.TcpConn, private readonly options: ConnectionOptions) {
    this.#conns.push(client);
  }

  /** Bytes queued in both directions right now. */
  get queued(): number {
    return this.#pipes.reduce((sum, p) => sum + p.queued, 0);
  }

  /** The two directions' counters so far (client -> target first); empty before connecting. */
  get directions(): DirectionStats[] {
    return this.#pipes.map((p) => p.stats);
  }

  abort(): void {
    this.#aborted = true;
    for (const pipe of this.#pipes) pipe.abort();
    for (const conn of this.#conns) closeQuietly(conn);
  }

  async run(): Promise<ConnectionResult> {
    const { target, log, id } = this.options;
    const result: ConnectionResult = { id, connected: false, up: null, down: null, error: null };
    let upstream: Deno.TcpConn;
    try {
      upstream = await connectWithTimeout(target, this.options.connectTimeoutMs);
    } catch (error) {
      result.error = (error as Error).message;
      log.warn("target unreachable, closing client", {
        conn: id,
        target: `${target.hostname}:${target.port}`,
        error: result.error,
      });
      closeQuietly(this.client);
      return result;
    }
    if (this.#aborted) {
      closeQuietly(upstream);
      return result;
    }
    this.#conns.push(upstream);
    result.connected = true;
    for (const conn of [this.client, upstream]) conn.setNoDelay(true);
    const { sampler, maxBufferBytes } = this.options;
    const up = new DelayedPipe(this.client, upstream, new DelayLine(sampler), maxBufferBytes);
    const down = new DelayedPipe(upstream, this.client, new DelayLine(sampler), maxBufferBytes);
    this.#pipes = [up, down];
    result.up = up.stats;
    result.down = down.stats;
    const runs = [up.run(), down.run()].map((p) =>
      p.catch((error: Error) => {
        // One side failed: tear down both so the other peer learns at once.
        result.error ??= error.message;
        this.abort();
      })
    );
    await Promise.all(runs);
    for (const conn of this.#conns) closeQuietly(conn);
    return result;
  }
}
