/**
 * The C mining engine (`ckpool/ckpool`) for tests: writes a config for a
 * regtest node on free loopback ports, starts the engine, waits until its
 * Stratum port accepts connections (which it opens after the first block
 * template), and stops, kills or restarts it on the same ports.
 *
 *   const engine = await startEngine(node, { startdiff: 1e-9 });
 *   ... connect to engine.stratumPort ...
 *   await engine.stop();
 *
 * Set CKPOOL_BIN to run another build, or TBG_ENGINE_FLAVOUR=asan for the
 * AddressSanitizer + UBSan build (`make -C ckpool asan`, ckpool/ckpool-asan).
 * A sanitizer build runs with ASAN_OPTIONS/UBSAN_OPTIONS that stop it at the
 * first report and check leaks at exit, and `stop()` throws on any report in
 * its log, so a memory error fails the test that caused it.
 */

import type { BitcoinNode } from "./bitcoin_node.ts";
import { freePort, waitFor, waitForPort } from "../ports.ts";
import { type ManagedProcess, spawnManaged } from "../process.ts";

/** What the engine needs to know about a node: where its RPC is, the credentials, ZMQ. */
export type EngineNode = Pick<
  BitcoinNode,
  "rpcHost" | "rpcPort" | "user" | "pass" | "zmqHashblock"
>;

/** Config keys as in docs/engine.md; any key may be overridden (or given invalid on purpose). */
export type EngineConfig = Record<string, unknown>;

export interface Engine {
  readonly stratumPort: number;
  readonly metricsPort: number;
  readonly config: EngineConfig;
  readonly configPath: string;
  readonly dir: string;
  /** The running process (replaced by `restart()`). */
  readonly process: ManagedProcess;
  /** SIGTERM; SIGKILL after `graceMs`. Resolves with the exit code; removes the temp dir. */
  stop(graceMs?: number): Promise<number>;
  /** SIGKILL at once. */
  kill(): Promise<number>;
  /** Stops (if running) and starts again with the same config and ports. */
  restart(): Promise<void>;
  /** Everything the engine logged so far (all runs; kept after `stop()`). */
  logs(): string;
  /** The JSON log lines parsed (non-JSON lines skipped). */
  logLines(): Array<Record<string, unknown>>;
  /** Sends a signal (e.g. SIGHUP). */
  signal(sig: Deno.Signal): void;
  [Symbol.asyncDispose](): Promise<void>;
}

export const REPO_ROOT = new URL("../../", import.meta.url).pathname;
export const CKPOOL_DIR = `${REPO_ROOT}ckpool`;

let built: Promise<string> | null = null;

/** Builds the engine once per test process (`make -C ckpool`, a no-op when current). */
export function engineBinary(): Promise<string> {
  const override = Deno.env.get("CKPOOL_BIN");
  if (override) return Promise.resolve(override);
  const target = Deno.env.get("TBG_ENGINE_FLAVOUR") === "asan" ? "ckpool-asan" : "ckpool";
  try {
    Deno.statSync(`${CKPOOL_DIR}/${target}`);
  } catch {
    built = null; // removed since (make clean): build again
  }
  built ??= (async () => {
    const out = await new Deno.Command("make", {
      args: ["-s", "-C", CKPOOL_DIR, target],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`make -C ckpool failed:\n${new TextDecoder().decode(out.stderr)}`);
    }
    return `${CKPOOL_DIR}/${target}`;
  })();
  return built;
}

/** True for a sanitizer build of the engine (by its file name, as the Makefile names it). */
export function isSanitizerBuild(bin: string): boolean {
  return /asan/.test(bin.slice(bin.lastIndexOf("/") + 1));
}

/**
 * Environment for a sanitizer build: halt at the first ASan or UBSan report
 * (exit 1 instead of carrying on), leaks checked at a clean exit (exit 23).
 * Options already set by the caller win.
 */
export function sanitizerEnv(bin: string): Record<string, string> | undefined {
  if (!isSanitizerBuild(bin)) return undefined;
  return {
    ASAN_OPTIONS: Deno.env.get("ASAN_OPTIONS") ??
      "halt_on_error=1:detect_leaks=1:leak_check_at_exit=1:exitcode=1",
    UBSAN_OPTIONS: Deno.env.get("UBSAN_OPTIONS") ?? "halt_on_error=1:print_stacktrace=1",
    LSAN_OPTIONS: Deno.env.get("LSAN_OPTIONS") ?? "exitcode=23",
  };
}

const SANITIZER_REPORT =
  /^(==\d+==ERROR: (Address|Leak)Sanitizer|.*: runtime error: |SUMMARY: (Address|Undefined|Leak)Sanitizer).*$/m;

/** The first line of a sanitizer report in `log`, or null. */
export function sanitizerReport(log: string): string | null {
  return SANITIZER_REPORT.exec(log)?.[0] ?? null;
}

/** Throws with the log's tail when it holds a sanitizer report. */
function assertNoSanitizerReport(log: string): void {
  const report = sanitizerReport(log);
  if (report) throw new Error(`engine sanitizer report: ${report}\n${tail(log)}`);
}

/** The config startEngine writes before applying overrides. */
export function baseConfig(node: EngineNode, stratumPort: number, metricsPort: number) {
  return {
    btcd: [{
      url: `${node.rpcHost}:${node.rpcPort}`,
      auth: node.user,
      pass: node.pass,
      notify: true,
    }],
    ...(node.zmqHashblock ? { zmqblock: node.zmqHashblock } : {}),
    serverurl: [`127.0.0.1:${stratumPort}`],
    metrics_listen: `127.0.0.1:${metricsPort}`,
    mindiff: 1e-9,
    startdiff: 1e-9,
    btcsig: "/thebitcoingame/",
    region: "eu",
    pool_instance: "ckpool-test",
    blockpoll_ms: 50,
    update_interval: 30,
  } as EngineConfig;
}

/** Writes `config` to a file in `dir` and returns its path. */
export async function writeConfig(dir: string, config: EngineConfig): Promise<string> {
  const path = `${dir}/ckpool.json`;
  await Deno.writeTextFile(path, JSON.stringify(config, null, 2));
  return path;
}

/** Runs the engine to completion (for config errors): exit code and output. */
export async function runEngineOnce(args: string[]) {
  const bin = await engineBinary();
  const out = await new Deno.Command(bin, {
    args,
    env: sanitizerEnv(bin),
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  const result = {
    code: out.code,
    stdout: decoder.decode(out.stdout),
    stderr: decoder.decode(out.stderr),
  };
  assertNoSanitizerReport(result.stderr);
  return result;
}

/** Starts the engine against `node`; `overrides` replace top-level config keys. */
export async function startEngine(
  node: EngineNode,
  overrides: EngineConfig = {},
  options: {
    readyTimeoutMs?: number;
    /** The port whose listening means started: stratum (default) needs a first template. */
    readyOn?: "stratum" | "metrics";
  } = {},
): Promise<Engine> {
  const bin = await engineBinary();
  const dir = await Deno.makeTempDir({ prefix: "ckpool-test-" });
  const stratumPort = freePort();
  const metricsPort = freePort();
  const config = { ...baseConfig(node, stratumPort, metricsPort), ...overrides };
  const configPath = await writeConfig(dir, config);
  const logPath = `${dir}/engine.log`;
  let proc: ManagedProcess;
  let removed = false;

  const spawn = async () => {
    proc = spawnManaged({
      name: "ckpool",
      cmd: bin,
      args: ["-c", configPath],
      logPath,
      env: sanitizerEnv(bin),
    });
    const exitedEarly = proc.exited.then((code) => {
      throw new Error(`ckpool exited with ${code} before listening:\n${tail(proc.log())}`);
    });
    const readyPort = options.readyOn === "metrics" ? metricsPort : stratumPort;
    await Promise.race([waitForPort(readyPort, options.readyTimeoutMs ?? 20_000), exitedEarly])
      .catch(async (error) => {
        await proc.stop(1_000);
        throw error;
      });
    exitedEarly.catch(() => {});
  };

  let keptLog = "";
  const removeDir = async () => {
    if (removed) return;
    removed = true;
    keptLog = readLog();
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  };

  const readLog = () => {
    try {
      return Deno.readTextFileSync(logPath);
    } catch {
      return "";
    }
  };

  await spawn();
  const engine: Engine = {
    stratumPort,
    metricsPort,
    config,
    configPath,
    dir,
    get process() {
      return proc;
    },
    async stop(graceMs = 5_000) {
      const code = await proc.stop(graceMs);
      await removeDir();
      assertNoSanitizerReport(keptLog);
      return code;
    },
    kill: () => proc.kill(),
    async restart() {
      await proc.stop();
      assertNoSanitizerReport(readLog());
      await spawn();
    },
    logs: () => (removed ? keptLog : readLog()),
    logLines() {
      return parseLogLines(this.logs());
    },
    signal(sig: Deno.Signal) {
      Deno.kill(proc.pid, sig);
    },
    async [Symbol.asyncDispose]() {
      await engine.stop();
    },
  };
  return engine;
}

/** Parses JSON log lines, skipping anything else. */
export function parseLogLines(text: string): Array<Record<string, unknown>> {
  const lines: Array<Record<string, unknown>> = [];
  for (const line of text.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      lines.push(JSON.parse(line));
    } catch {
      // a line cut by a crash
    }
  }
  return lines;
}

/** Waits until the engine logged a line matching `match`; returns it. */
export function waitForLog(
  engine: Engine,
  match: (line: Record<string, unknown>) => boolean,
  what = "a matching log line",
  timeoutMs = 15_000,
): Promise<Record<string, unknown>> {
  return waitFor(() => engine.logLines().find(match), { timeoutMs, what });
}

function tail(text: string): string {
  return text.trimEnd().split("\n").slice(-20).join("\n");
}

/** A relay-link shared secret for tests (>= 16 characters, as the engine requires). */
export function relayToken(): string {
  return `relay-test-${crypto.randomUUID()}`;
}

/**
 * Overrides that make an engine a primary accepting relays on loopback:
 * `relay_listen` on `relayPort` (e.g. `freePort()`) and the shared
 * `primary.auth_token`. The port is in the config, so `restart()` keeps it.
 */
export function primaryOverrides(authToken: string, relayPort: number): EngineConfig {
  return {
    mode: "primary",
    relay_listen: `127.0.0.1:${relayPort}`,
    primary: { auth_token: authToken, template_push_port: relayPort },
  };
}

export interface PassthroughOptions {
  relayPort: number;
  authToken: string;
  region: string;
  host?: string;
  /** Seconds without the primary before mining the own node's templates (engine default 10). */
  failoverThreshold?: number;
  /** Seconds between reconnect attempts (engine default 5). */
  reconnectInterval?: number;
}

/** Overrides that make an engine a passthrough relay of the primary at `relayPort`. */
export function passthroughOverrides(o: PassthroughOptions): EngineConfig {
  return {
    mode: "passthrough",
    region: o.region,
    pool_instance: `ckpool-relay-${o.region}`,
    primary: {
      host: o.host ?? "127.0.0.1",
      template_push_port: o.relayPort,
      auth_token: o.authToken,
      ...(o.failoverThreshold !== undefined ? { failover_threshold: o.failoverThreshold } : {}),
      ...(o.reconnectInterval !== undefined ? { reconnect_interval: o.reconnectInterval } : {}),
    },
  };
}

/** Reads `/metrics` into `name{labels}` -> value (the text format, comments skipped). */
export async function scrapeMetrics(engine: Engine): Promise<Map<string, number>> {
  const res = await fetch(`http://127.0.0.1:${engine.metricsPort}/metrics`);
  const text = await res.text();
  const out = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}
