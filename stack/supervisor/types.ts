/**
 * The shape of the local stack as data: every service is a `ServiceSpec`, and
 * the supervisor only reads these fields. Adding a service (the engine, a
 * publisher, a latency bridge) means adding a spec, not changing the supervisor.
 */

/** One program to run: what `Deno.Command` needs. */
export interface CommandSpec {
  cmd: string;
  args: string[];
  env?: Record<string, string>;
  cwd?: string;
}

export interface ServiceSpec {
  /** Unique in the topology, also the log file name: `nats`, `bitcoind-eu`. */
  name: string;
  /** `eu`, `us-east`, `asia`, or `global` for shared infrastructure. */
  region: string;
  /** Names of services that must be ready before this one starts. */
  dependsOn: readonly string[];
  /** What a client connects to, for the table (`nats://127.0.0.1:20422`). */
  endpoint: string;
  /** TCP ports on 127.0.0.1 it listens on; a port already in use stops the start early. */
  ports?: readonly number[];
  /** Runs once before the first start (create data dirs, initdb, write configs). */
  prepare?: () => Promise<void>;
  /** The program to run; called on every (re)start. */
  command: () => CommandSpec;
  /** True once the service serves requests; polled until it is or the timeout passes. */
  ready: () => Promise<boolean>;
  /** Defaults to 30 s. */
  readyTimeoutMs?: number;
  /** Runs after every successful readiness wait (create a database, a stream...). */
  afterReady?: () => Promise<void>;
  /** The signal that shuts this program down cleanly; defaults to SIGTERM. */
  stopSignal?: Deno.Signal;
  /** The command runs in its own process group (started under `setsid`): signal the group. */
  processGroup?: boolean;
}
