/**
 * Builds the engine's libFuzzer targets (`make -C ckpool fuzz`, clang) and
 * runs each for a bounded time, two at a time (the box has 2 cores).
 *
 *   deno task fuzz                       every target for 1 minute
 *   deno task fuzz -- --minutes 10       longer, on demand
 *   deno task fuzz -- --seconds 10       the smoke run of `deno task check`
 *   deno task fuzz -- --only config,relay_frame --jobs 1
 *
 * Each target starts from a fresh temp work corpus, seeded from the repo's
 * ckpool/fuzz/corpus/<target>/ (read, never written). A finding (crash,
 * leak, timeout, out-of-memory, sanitizer report) fails the run with the
 * path of the saved input and the tail of the log; its temp dir is kept.
 * Prints per target: seconds, executions, coverage, corpus size, findings.
 */

const CKPOOL = new URL("../ckpool/", import.meta.url).pathname;
const FUZZ_DIR = `${CKPOOL}fuzz/`;
const BUILD_DIR = `${CKPOOL}build/fuzz/`;

/** libFuzzer flags per target beyond the defaults. */
const EXTRA_FLAGS: Record<string, string[]> = {
  address: ["-max_len=256"],
  submit_parse: ["-max_len=1024"],
  stratum_line: ["-max_len=8192"],
  relay_frame: ["-max_len=4096"],
  template_codec: ["-max_len=8192"],
  config: ["-max_len=4096"],
  workbase: ["-max_len=16384"],
};

export interface Options {
  seconds: number;
  jobs: number;
  only: string[] | null;
  /** Keep each target's temp dir (work corpus, log) even without a finding. */
  keep: boolean;
}

export interface TargetResult {
  target: string;
  seconds: number;
  execs: number | null;
  cov: number | null;
  features: number | null;
  corpusUnits: number | null;
  corpusBytes: string | null;
  /** Path of the input that failed, or null. */
  finding: string | null;
  exitCode: number;
  /** Temp dir (kept on a finding, removed otherwise). */
  dir: string;
  logTail: string;
}

function usage(message: string): never {
  console.error(`fuzz: ${message}`);
  console.error(
    "usage: deno task fuzz [-- --minutes N | --seconds N] [--only a,b] [--jobs J]",
  );
  Deno.exit(2);
}

function positiveNumber(flag: string, value: string | undefined): number {
  const n = Number(value);
  if (value === undefined || !Number.isFinite(n) || n <= 0) {
    usage(`${flag} needs a positive number, got ${value === undefined ? "nothing" : `'${value}'`}`);
  }
  return n;
}

export function parseArgs(args: string[]): Options {
  const options: Options = { seconds: 60, jobs: 2, only: null, keep: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    if (arg === "--") continue; // `deno task fuzz -- --minutes 3` passes it through
    if (arg === "--keep") options.keep = true;
    else if (arg === "--minutes") options.seconds = positiveNumber(arg, args[++i]) * 60;
    else if (arg === "--seconds") options.seconds = positiveNumber(arg, args[++i]);
    else if (arg === "--jobs") {
      options.jobs = Math.max(1, Math.floor(positiveNumber(arg, args[++i])));
    } else if (arg === "--only") {
      const list = args[++i];
      if (!list) usage("--only needs a comma-separated list of targets");
      options.only = list.split(",").map((s) => s.trim()).filter((s) => s.length > 0);
    } else usage(`unknown argument '${arg}'`);
  }
  return options;
}

/** Target names from ckpool/fuzz/fuzz_<name>.c, sorted. */
export function listTargets(): string[] {
  const names: string[] = [];
  for (const entry of Deno.readDirSync(FUZZ_DIR)) {
    const match = /^fuzz_(\w+)\.c$/.exec(entry.name);
    if (entry.isFile && match) names.push(match[1]);
  }
  return names.sort();
}

async function build(): Promise<void> {
  console.log("[fuzz] make -C ckpool fuzz");
  const { code } = await new Deno.Command("make", {
    args: ["-s", "-j2", "-C", CKPOOL, "fuzz"],
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) {
    throw new Error(
      `make -C ckpool fuzz failed (exit ${code}); it needs clang and its runtime ` +
        "(Debian: apt-get install clang libclang-rt-14-dev, or deno task bootstrap as root)",
    );
  }
}

function lastMatch(text: string, re: RegExp): RegExpExecArray | null {
  let found: RegExpExecArray | null = null;
  for (const m of text.matchAll(new RegExp(re.source, "gm"))) found = m as RegExpExecArray;
  return found;
}

/** The figures libFuzzer printed: its last status line and the final stats. */
export function parseLog(log: string): Pick<
  TargetResult,
  "execs" | "cov" | "features" | "corpusUnits" | "corpusBytes"
> {
  const status = lastMatch(log, /^#(\d+)\s+\w+\s+cov: (\d+) ft: (\d+) corp: (\d+)\/(\S+)/);
  const execs = /stat::number_of_executed_units:\s+(\d+)/.exec(log);
  return {
    execs: execs ? Number(execs[1]) : status ? Number(status[1]) : null,
    cov: status ? Number(status[2]) : null,
    features: status ? Number(status[3]) : null,
    corpusUnits: status ? Number(status[4]) : null,
    corpusBytes: status ? status[5] : null,
  };
}

/** The input libFuzzer saved for a finding, from its log or the artifact dir. */
function findingPath(log: string, artifacts: string): string | null {
  const written = lastMatch(log, /Test unit written to (\S+)/);
  if (written) return written[1];
  for (const entry of Deno.readDirSync(artifacts)) {
    if (/^(crash|leak|timeout|oom|slow-unit)-/.test(entry.name)) return `${artifacts}${entry.name}`;
  }
  return null;
}

async function runTarget(target: string, seconds: number, keep: boolean): Promise<TargetResult> {
  const dir = await Deno.makeTempDir({ prefix: `tbg-fuzz-${target}-` });
  const work = `${dir}/corpus`;
  const artifacts = `${dir}/findings/`;
  await Deno.mkdir(work);
  await Deno.mkdir(artifacts);
  const seeds = `${FUZZ_DIR}corpus/${target}`;
  const corpora = [work];
  try {
    if (Deno.statSync(seeds).isDirectory) corpora.push(seeds);
  } catch {
    // a target without seeds starts from nothing
  }
  const flags = [
    `-max_total_time=${Math.max(1, Math.round(seconds))}`,
    "-print_final_stats=1",
    "-timeout=30",
    `-artifact_prefix=${artifacts}`,
    ...(EXTRA_FLAGS[target] ?? []),
  ];
  const started = performance.now();
  const out = await freshCommand(`${BUILD_DIR}fuzz_${target}`, [...flags, ...corpora], {
    cwd: dir,
    env: {
      UBSAN_OPTIONS: "halt_on_error=1:print_stacktrace=1",
      ASAN_OPTIONS: "detect_leaks=1",
    },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const elapsed = (performance.now() - started) / 1000;
  const log = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  await Deno.writeTextFile(`${dir}/log`, log);
  const finding = out.code === 0 ? null : findingPath(log, artifacts) ?? `${dir}/log`;
  const result: TargetResult = {
    target,
    seconds: elapsed,
    ...parseLog(log),
    finding,
    exitCode: out.code,
    dir,
    logTail: log.split("\n").filter((l) => !l.startsWith('"')).slice(-40).join("\n"),
  };
  if (!finding && !keep) await Deno.remove(dir, { recursive: true });
  return result;
}

/**
 * A command whose peak-RSS accounting starts from its own: Linux keeps a
 * process's peak RSS across execve, so a child this runner spawns directly
 * reports the runner's peak as its own (getrusage ru_maxrss), and libFuzzer,
 * which checks that figure against -rss_limit_mb (2 GiB), called a fresh
 * target out of memory at its first input once the runner had grown that
 * big over a long run. `sh` forks the target instead of exec'ing it (a
 * command follows it), so the target starts from sh's small figure.
 */
export function freshCommand(
  command: string,
  args: string[],
  options: Omit<Deno.CommandOptions, "args">,
): Deno.Command {
  return new Deno.Command("sh", {
    ...options,
    args: ["-c", '"$@"; exit $?', "sh", command, ...args],
  });
}

function line(r: TargetResult): string {
  const n = (v: number | null) => (v === null ? "?" : String(v));
  const rate = r.execs === null ? "?" : String(Math.round(r.execs / Math.max(r.seconds, 1)));
  return [
    r.target.padEnd(15),
    r.seconds.toFixed(0).padStart(6),
    n(r.execs).padStart(11),
    rate.padStart(8),
    n(r.cov).padStart(6),
    n(r.features).padStart(7),
    `${n(r.corpusUnits)}/${r.corpusBytes ?? "?"}`.padStart(12),
    r.finding ? `FINDING ${r.finding}` : "none",
  ].join("  ");
}

const HEADER = [
  "target".padEnd(15),
  "secs".padStart(6),
  "execs".padStart(11),
  "exec/s".padStart(8),
  "cov".padStart(6),
  "ft".padStart(7),
  "corpus".padStart(12),
  "findings",
].join("  ");

async function main(): Promise<number> {
  const options = parseArgs(Deno.args);
  const all = listTargets();
  const unknown = (options.only ?? []).filter((t) => !all.includes(t));
  if (unknown.length > 0) usage(`no fuzz target ${unknown.join(", ")} (have ${all.join(", ")})`);
  const targets = options.only ?? all;
  await build();
  console.log(
    `[fuzz] ${targets.length} targets, ${options.seconds} s each, ${options.jobs} at a time`,
  );
  const queue = [...targets];
  const results: TargetResult[] = [];
  await Promise.all(
    Array.from({ length: Math.min(options.jobs, queue.length) }, async () => {
      for (let t = queue.shift(); t !== undefined; t = queue.shift()) {
        const r = await runTarget(t, options.seconds, options.keep);
        console.log(`[fuzz] ${line(r)}`);
        results.push(r);
      }
    }),
  );
  results.sort((a, b) => a.target.localeCompare(b.target));
  console.log(`\n${HEADER}`);
  for (const r of results) console.log(line(r));
  const found = results.filter((r) => r.finding);
  for (const r of found) {
    console.error(`\n[fuzz] ${r.target}: exit ${r.exitCode}, input saved at ${r.finding}`);
    console.error(`[fuzz] reproduce: ckpool/build/fuzz/fuzz_${r.target} ${r.finding}`);
    console.error(r.logTail);
  }
  return found.length > 0 ? 1 : 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (error) {
    console.error(`[fuzz] ${(error as Error).message}`);
    Deno.exit(1);
  }
}
