/** nats-server with JetStream: command line and readiness, shared by the stack and tests. */

import type { CommandSpec } from "../types.ts";
import { natsJetStreamReady } from "../readiness.ts";
import { commandPath } from "../which.ts";

export interface NatsLayout {
  /** JetStream store directory (file storage lives under it). */
  storeDir: string;
  port: number;
  /** HTTP monitoring port (`/healthz`, `/jsz`); omitted when not wanted. */
  monitorPort?: number;
  serverName?: string;
}

export function natsCommand(layout: NatsLayout): CommandSpec {
  const args = ["-js", "-sd", layout.storeDir, "-a", "127.0.0.1", "-p", String(layout.port)];
  if (layout.monitorPort !== undefined) args.push("-m", String(layout.monitorPort));
  if (layout.serverName) args.push("-n", layout.serverName);
  return { cmd: commandPath("nats-server"), args };
}

export function natsReady(layout: NatsLayout): () => Promise<boolean> {
  return () => natsJetStreamReady(layout.port);
}

/** nats-server shuts down cleanly (and exits 0) on SIGINT. */
export const NATS_STOP_SIGNAL: Deno.Signal = "SIGINT";
