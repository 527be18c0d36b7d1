/** Connecting to NATS with the options every function uses, and a clear unreachable error. */

import { connect, type NatsConnection } from "@nats-io/transport-node";

export interface NatsConnectOptions {
  /** Comma-separated `nats://host:port` list. */
  servers: string;
  name: string;
  /** Keep retrying the first connection (functions) instead of failing (nats:init). */
  waitOnFirstConnect: boolean;
  timeoutMs?: number;
  /**
   * PEM file of the CA that signs the NATS server's certificate (NATS_TLS_CA).
   * Set: the connection must be TLS and the server's certificate must verify
   * against it (and carry the host name of the URL). Unset: whatever the
   * server offers, checked against the system CAs.
   */
  tlsCaFile?: string;
}

export function natsServers(servers: string): string[] {
  return servers.split(",").map((s) => s.trim()).filter((s) => s !== "");
}

export async function connectNats(options: NatsConnectOptions): Promise<NatsConnection> {
  const servers = natsServers(options.servers);
  try {
    return await connect({
      servers,
      name: options.name,
      waitOnFirstConnect: options.waitOnFirstConnect,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 500,
      reconnectJitter: 200,
      pingInterval: 5_000,
      maxPingOut: 2,
      timeout: options.timeoutMs ?? 5_000,
      ...(options.tlsCaFile ? { tls: { caFile: options.tlsCaFile } } : {}),
    });
  } catch (error) {
    throw new Error(
      `nats: cannot connect to ${servers.join(", ")}: ${(error as Error).message}`,
      { cause: error },
    );
  }
}
