/**
 * Runs a command many times in a row while every core is kept busy, to
 * shake out tests that depend on scheduling or speed.
 *
 *   deno task flake-hunt -- --runs 20 -- make -C ckpool test
 *   deno task flake-hunt -- --runs 3 --hogs 2 -- deno test --allow-all --unstable-net tests/
 *
 * The CPU hog is one busy-loop `sh` per core (or --hogs N). It is stopped on
 * every way out: all runs done, a failure with --stop-on-fail, Ctrl-C or
 * SIGTERM. Each hog also watches this process and ends by itself if it dies
 * without cleaning up (SIGKILL). Prints one line per run, then pass/fail
 * counts and durations; exits 0 only when every run passed.
 */

export interface FlakeHuntOptions {
  runs: number;
  hogs: number;
  stopOnFail: boolean;
  verbose: boolean;
  logDir?: string;
  command: string[];
}

export const USAGE =
  `usage: flake_hunt.ts [--runs N] [--hogs N] [--stop-on-fail] [--verbose] [--log-dir DIR] [--] command [args...]
  --runs N        times to run the command in a row (default 20)
  --hogs N        busy-loop processes during the runs (default: one per core; 0 = none)
  --stop-on-fail  stop after the first failing run
  --verbose       stream each run's output (default: kept, shown only when a run fails)
  --log-dir DIR   where failing runs' output goes (default: a new temp dir)`;

export class UsageError extends Error {}

function positiveInt(flag: string, text: string | undefined, min: number): number {
  if (text === undefined) throw new UsageError(`${flag} needs a value`);
  if (!/^[0-9]+$/.test(text) || Number(text) < min || !Number.isSafeInteger(Number(text))) {
    throw new UsageError(`${flag} must be an integer >= ${min}, got "${text}"`);
  }
  return Number(text);
}

/**
 * Options up to `--` or the first word that is not an option; the rest is
 * the command. One leading `--` is dropped: `deno task` passes its own
 * separator through.
 */
export function parseFlakeHuntArgs(args: string[], cores: number): FlakeHuntOptions {
  const opts: FlakeHuntOptions = {
    runs: 20,
    hogs: Math.max(1, cores),
    stopOnFail: false,
    verbose: false,
    command: [],
  };
  let i = args[0] === "--" ? 1 : 0;
  for (; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") {
      i++;
      break;
    }
    if (!arg.startsWith("--")) break;
    if (arg === "--runs") opts.runs = positiveInt(arg, args[++i], 1);
    else if (arg === "--hogs") opts.hogs = positiveInt(arg, args[++i], 0);
    else if (arg === "--log-dir") {
      const dir = args[++i];
      if (!dir) throw new UsageError("--log-dir needs a value");
      opts.logDir = dir;
    } else if (arg === "--stop-on-fail") opts.stopOnFail = true;
    else if (arg === "--verbose") opts.verbose = true;
    else throw new UsageError(`unknown option "${arg}"`);
  }
  opts.command = args.slice(i);
  if (opts.command.length === 0) throw new UsageError("no command to run");
  return opts;
}

export interface RunResult {
  ok: boolean;
  code: number;
  seconds: number;
}

export interface Summary {
  runs: number;
  passed: number;
  failed: number;
  failedRuns: number[];
  minS: number;
  medianS: number;
  maxS: number;
  totalS: number;
}

export function summarize(results: RunResult[]): Summary {
  const times = results.map((r) => r.seconds).sort((a, b) => a - b);
  const mid = times.length >> 1;
  const median = times.length === 0
    ? 0
    : times.length % 2
    ? times[mid]
    : (times[mid - 1] + times[mid]) / 2;
  return {
    runs: results.length,
    passed: results.filter((r) => r.ok).length,
    failed: results.filter((r) => !r.ok).length,
    failedRuns: results.flatMap((r, i) => r.ok ? [] : [i + 1]),
    minS: times[0] ?? 0,
    medianS: median,
    maxS: times[times.length - 1] ?? 0,
    totalS: times.reduce((a, b) => a + b, 0),
  };
}

/** A busy loop that checks every ~100k iterations whether `watchPid` still lives. */
export function hogScript(watchPid: number): string {
  return `while kill -0 ${watchPid} 2>/dev/null; do i=0; ` +
    `while [ $i -lt 100000 ]; do i=$((i+1)); done; done`;
}

class CpuHog {
  #children: Deno.ChildProcess[] = [];

  start(count: number): void {
    for (let n = 0; n < count; n++) {
      this.#children.push(
        new Deno.Command("sh", {
          args: ["-c", hogScript(Deno.pid)],
          stdin: "null",
          stdout: "null",
          stderr: "null",
        }).spawn(),
      );
    }
  }

  async stop(): Promise<void> {
    const children = this.#children;
    this.#children = [];
    for (const child of children) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already gone
      }
    }
    await Promise.all(children.map((c) => c.status));
  }
}

const fmt = (s: number) => s.toFixed(1);

/** The command as one could paste it into a shell. */
export function showCommand(command: string[]): string {
  return command.map((a) => /^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)
    .join(" ");
}

async function runOnce(
  opts: FlakeHuntOptions,
  onChild: (c: Deno.ChildProcess | null) => void,
): Promise<RunResult & { output: Uint8Array }> {
  const started = performance.now();
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command(opts.command[0], {
      args: opts.command.slice(1),
      stdin: "null",
      stdout: opts.verbose ? "inherit" : "piped",
      stderr: opts.verbose ? "inherit" : "piped",
    }).spawn();
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new UsageError(`cannot run "${opts.command[0]}": ${why}`);
  }
  onChild(child);
  let output = new Uint8Array();
  let code: number;
  if (opts.verbose) {
    code = (await child.status).code;
  } else {
    // stderr joins stdout in one log; order between them is approximate
    const out = await child.output();
    code = out.code;
    output = new Uint8Array(out.stdout.length + out.stderr.length);
    output.set(out.stdout);
    output.set(out.stderr, out.stdout.length);
  }
  onChild(null);
  return { ok: code === 0, code, seconds: (performance.now() - started) / 1000, output };
}

function tail(text: string, lines: number): string {
  return text.split("\n").slice(-lines).join("\n");
}

async function main(): Promise<number> {
  let opts: FlakeHuntOptions;
  try {
    opts = parseFlakeHuntArgs(Deno.args, navigator.hardwareConcurrency);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`flake_hunt: ${e.message}\n${USAGE}`);
    return 2;
  }
  const hog = new CpuHog();
  let current: Deno.ChildProcess | null = null;
  let interrupted = false;
  const onSignal = () => {
    interrupted = true;
    try {
      current?.kill("SIGTERM");
    } catch {
      // it just ended
    }
  };
  const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
  for (const s of signals) Deno.addSignalListener(s, onSignal);

  const results: RunResult[] = [];
  const command = showCommand(opts.command);
  console.log(`flake_hunt: ${opts.runs} run(s) of \`${command}\` with ${opts.hogs} CPU hog(s)`);
  hog.start(opts.hogs);
  try {
    for (let n = 1; n <= opts.runs && !interrupted; n++) {
      const r = await runOnce(opts, (c) => current = c);
      if (interrupted) break;
      results.push(r);
      console.log(
        `run ${n}/${opts.runs}: ${r.ok ? "pass" : `FAIL (exit ${r.code})`} ${fmt(r.seconds)} s`,
      );
      if (!r.ok && !opts.verbose) {
        const dir = opts.logDir ?? await Deno.makeTempDir({ prefix: "flake_hunt." });
        opts.logDir = dir;
        await Deno.mkdir(dir, { recursive: true });
        const path = `${dir}/run-${n}.log`;
        await Deno.writeFile(path, r.output);
        console.log(tail(new TextDecoder().decode(r.output), 40));
        console.log(`run ${n}: full output in ${path}`);
      }
      if (!r.ok && opts.stopOnFail) break;
    }
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`flake_hunt: ${e.message}`);
    return 2;
  } finally {
    await hog.stop();
    for (const s of signals) Deno.removeSignalListener(s, onSignal);
  }
  const s = summarize(results);
  console.log(
    `flake_hunt: ${s.passed} passed, ${s.failed} failed of ${s.runs} run(s)` +
      (interrupted ? ` (interrupted, ${opts.runs} planned)` : "") +
      ` of \`${command}\` with ${opts.hogs} CPU hog(s)`,
  );
  if (s.runs) {
    console.log(
      `durations: min ${fmt(s.minS)} s, median ${fmt(s.medianS)} s, max ${fmt(s.maxS)} s, ` +
        `total ${fmt(s.totalS)} s`,
    );
  }
  if (s.failed) console.log(`failed runs: ${s.failedRuns.join(", ")}`);
  if (interrupted) return 130;
  return s.failed === 0 && s.runs === opts.runs ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
