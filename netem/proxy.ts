/**
 * The userspace latency bridge: a TCP proxy that delays every chunk in each
 * direction by a sampled one-way delay (normal, mean --delay, sd --jitter,
 * clamped at 0) without reordering bytes. It stands in for `tc netem` on
 * machines without it (the native stack, `deno task up`).
 *
 *   deno task netem -- --listen 127.0.0.1:22881 --target 127.0.0.1:21881 --delay 25 --jitter 5
 *
 * See netem/config.ts for every flag and environment variable.
 */

import { type ProxyConfig, type Route } from "./config.ts";
import { BridgedConnection } from "./connection.ts";
import { delaySampler } from "./delay.ts";
import type { DirectionStats } from "./pipe.ts";
import { type BridgeLogger, silentLogger } from "./log.ts";

export interface ProxyStats {
  accepted: number;
  active: number;
  /** Connections closed because the target could not be reached. */
  targetFailures: number;
  bytesUp: number;
  bytesDown: number;
  /** The most bytes any one direction of any connection held at once. */
  maxQueued: number;
  /** How often a direction stopped reading because its queue was full. */
  pauses: number;
}

export interface ProxyHandle {
  /** The listening endpoints, in route order (the real port when 0 was asked for). */
  readonly listeners: ReadonlyArray<{ route: Route; port: number }>;
  stats(): ProxyStats;
  /** Stops accepting, tears down every connection and resolves when all are gone. */
  close(): Promise<void>;
}

type Traffic = Pick<ProxyStats, "bytesUp" | "bytesDown" | "maxQueued" | "pauses">;

/** Adds one connection's direction counters ([up, down]) into `into`. */
function fold(into: Traffic, directions: readonly DirectionStats[]): void {
  const [up, down] = directions;
  if (!up || !down) return;
  into.bytesUp += up.bytes;
  into.bytesDown += down.bytes;
  into.maxQueued = Math.max(into.maxQueued, up.maxQueued, down.maxQueued);
  into.pauses += up.pauses + down.pauses;
}

function routeLabel(route: Route): string {
  const { listen, target } = route;
  return `${listen.hostname}:${listen.port} -> ${target.hostname}:${target.port}`;
}

export function startProxy(config: ProxyConfig, log: BridgeLogger = silentLogger): ProxyHandle {
  const sampler = delaySampler(config.delayMs, config.jitterMs);
  const stats = { accepted: 0, active: 0, targetFailures: 0 };
  const finished: Traffic = { bytesUp: 0, bytesDown: 0, maxQueued: 0, pauses: 0 };
  const live = new Set<BridgedConnection>();
  const running = new Set<Promise<void>>();
  let nextId = 1;
  let closing = false;

  const serve = async (listener: Deno.TcpListener, route: Route) => {
    for await (const client of listenerConns(listener)) {
      if (closing) {
        client.close();
        break;
      }
      const id = nextId++;
      stats.accepted++;
      stats.active++;
      const bridged = new BridgedConnection(client, {
        target: route.target,
        sampler,
        maxBufferBytes: config.maxBufferBytes,
        connectTimeoutMs: config.connectTimeoutMs,
        log,
        id,
      });
      live.add(bridged);
      log.debug("connection opened", { conn: id, route: routeLabel(route) });
      const done = bridged.run().then((result) => {
        stats.active--;
        if (!result.connected) stats.targetFailures++;
        fold(finished, bridged.directions);
        log.debug("connection closed", {
          conn: id,
          bytes_up: result.up?.bytes ?? 0,
          bytes_down: result.down?.bytes ?? 0,
          error: result.error,
        });
      }).finally(() => {
        live.delete(bridged);
        running.delete(done);
      });
      running.add(done);
    }
  };

  const listeners = config.routes.map((route) => {
    const listener = Deno.listen({ hostname: route.listen.hostname, port: route.listen.port });
    const port = (listener.addr as Deno.NetAddr).port;
    log.info("bridge listening", {
      route: routeLabel({ ...route, listen: { ...route.listen, port } }),
      delay_ms: config.delayMs,
      jitter_ms: config.jitterMs,
      max_buffer_bytes: config.maxBufferBytes,
    });
    return { route, port, listener, serving: serve(listener, route) };
  });

  return {
    listeners: listeners.map(({ route, port }) => ({ route, port })),
    stats: () => {
      // Live connections count too: their pipes are still moving data.
      const now = { ...stats, ...finished };
      for (const bridged of live) fold(now, bridged.directions);
      return now;
    },
    async close() {
      if (closing) return;
      closing = true;
      for (const l of listeners) {
        try {
          l.listener.close();
        } catch {
          // already closed
        }
      }
      await Promise.all(listeners.map((l) => l.serving));
      for (const bridged of live) bridged.abort();
      await Promise.all([...running]);
    },
  };
}

/** The listener's connections until it is closed (a closed listener ends the loop). */
async function* listenerConns(listener: Deno.TcpListener): AsyncGenerator<Deno.TcpConn> {
  while (true) {
    let conn: Deno.TcpConn;
    try {
      conn = await listener.accept();
    } catch {
      return;
    }
    yield conn;
  }
}
