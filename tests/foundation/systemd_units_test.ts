/**
 * deploy/systemd: the units for a host without Docker, checked as data.
 * Each unit parses, is hardened, starts a program that exists (in the repo or
 * at an install path deploy/systemd/README.md documents) with flags the
 * program has, names only environment variables its function reads, and
 * grants the paths its example configuration uses. Where `systemd-analyze`
 * is installed, `systemd-analyze verify` must pass on them too.
 */

import assert from "node:assert/strict";
import { COLLECTOR_ENV_VARS } from "../../functions/collector/config.ts";
import { HEALTH_ENV_VARS } from "../../functions/health/config.ts";
import { MINER_API_ALLOW_ENV } from "../../functions/miner-api/config.ts";
import { PUBLISHER_ENV_VARS } from "../../functions/publisher/config.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const UNITS_DIR = `${REPO}deploy/systemd/`;
const EXAMPLES = `${UNITS_DIR}examples/`;
/** Where the units expect the checkout (WorkingDirectory, --allow-read). */
const INSTALL_ROOT = "/opt/tbg/";
/** The instance the examples are written for. */
const INSTANCE = "eu";
/** Read by the deno binary itself, not by a function. */
const DENO_RUNTIME_VARS = ["DENO_DIR", "DENO_NO_UPDATE_CHECK"];

type Unit = Map<string, Map<string, string[]>>;

/** systemd's ini: [Section], Key=Value (repeatable), # and ; comments, \ continuation. */
function parseUnit(text: string, name: string): Unit {
  const unit: Unit = new Map();
  let section: Map<string, string[]> | undefined;
  const lines = text.replace(/\\\n/g, " ").split("\n");
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) return;
    const head = /^\[([A-Za-z]+)\]$/.exec(line);
    if (head) {
      section = new Map();
      unit.set(head[1], section);
      return;
    }
    const kv = /^([A-Za-z][A-Za-z0-9]*)=(.*)$/.exec(line);
    assert.ok(kv && section, `${name}:${i + 1}: not a key=value in a section: ${line}`);
    section.set(kv[1], [...(section.get(kv[1]) ?? []), kv[2].trim()]);
  });
  return unit;
}

function value(unit: Unit, section: string, key: string): string | undefined {
  return unit.get(section)?.get(key)?.at(-1);
}

function instantiate(text: string): string {
  return text.replaceAll("%i", INSTANCE);
}

const UNIT_FILES = [...Deno.readDirSync(UNITS_DIR)]
  .filter((e) => e.isFile && e.name.endsWith(".service"))
  .map((e) => e.name)
  .sort();

function load(name: string): Unit {
  return parseUnit(instantiate(Deno.readTextFileSync(UNITS_DIR + name)), name);
}

/**
 * Each function unit: its source directory, the variables its config reads,
 * and why, where it has one, it needs the whole environment (a bare
 * --allow-env) instead of that list.
 */
const FUNCTIONS: Record<string, { dir: string; vars: readonly string[]; allEnv?: string }> = {
  "tbg-publisher@.service": { dir: "functions/publisher", vars: PUBLISHER_ENV_VARS },
  "tbg-collector.service": {
    dir: "functions/collector",
    vars: COLLECTOR_ENV_VARS,
    // Observed: with a list, loading ioredis fails "NotCapable: Requires env access".
    allEnv: "process.env keys",
  },
  "tbg-health.service": { dir: "functions/health", vars: HEALTH_ENV_VARS },
  // Its variables and those postgres.js reads for what DATABASE_URL leaves unset.
  "tbg-miner-api.service": { dir: "functions/miner-api", vars: MINER_API_ALLOW_ENV },
};
const ENGINE_UNIT = "tbg-ckpool@.service";

function execArgs(unit: Unit): string[] {
  const exec = value(unit, "Service", "ExecStart");
  assert.ok(exec, "ExecStart missing");
  return exec.split(/\s+/).filter((s) => s !== "");
}

function flagList(args: string[], flag: string): string[] {
  const arg = args.find((a) => a.startsWith(`${flag}=`));
  return arg ? arg.slice(flag.length + 1).split(",") : [];
}

/** The example file standing for a path under /etc/tbg/. */
function exampleOf(path: string): string {
  assert.ok(path.startsWith("/etc/tbg/"), `${path} is not under /etc/tbg/`);
  return EXAMPLES + path.slice("/etc/tbg/".length);
}

function envFile(path: string): Map<string, string> {
  const vars = new Map<string, string>();
  for (const line of Deno.readTextFileSync(path).split("\n")) {
    const kv = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (kv) vars.set(kv[1], kv[2]);
  }
  return vars;
}

/** The function's sources (its folder and functions/lib), tests excluded. */
function sourceText(dir: string): string {
  return [`${REPO}${dir}/`, `${REPO}functions/lib/`].flatMap((d) =>
    [...Deno.readDirSync(d)]
      .filter((e) => e.isFile && e.name.endsWith(".ts") && !e.name.endsWith("_test.ts"))
      .map((e) => Deno.readTextFileSync(d + e.name))
  ).join("\n");
}

function inside(path: string, dirs: string[]): boolean {
  return dirs.some((d) => path === d || path.startsWith(d.endsWith("/") ? d : `${d}/`));
}

function writable(unit: Unit): string[] {
  return (value(unit, "Service", "ReadWritePaths") ?? "").split(/\s+/).filter((s) => s !== "");
}

Deno.test("systemd units: the engine and each function have a unit", () => {
  assert.deepEqual(UNIT_FILES, [ENGINE_UNIT, ...Object.keys(FUNCTIONS)].sort());
});

for (const name of UNIT_FILES) {
  Deno.test(`systemd units: ${name} parses and is hardened`, () => {
    const unit = load(name);
    for (const section of ["Unit", "Service", "Install"]) {
      assert.ok(unit.has(section), `[${section}] missing`);
    }
    const want: Record<string, string> = {
      User: "tbg",
      NoNewPrivileges: "yes",
      ProtectSystem: "strict",
      ProtectHome: "yes",
      PrivateTmp: "yes",
      Restart: "on-failure",
      CapabilityBoundingSet: "",
    };
    for (const [key, expected] of Object.entries(want)) {
      assert.equal(value(unit, "Service", key), expected, `${key}=`);
    }
    assert.ok(writable(unit).length > 0, "ReadWritePaths= lists the writable directories");
    assert.equal(value(unit, "Install", "WantedBy"), "multi-user.target");
  });
}

Deno.test("systemd units: every program is documented and exists in the repo layout", () => {
  const readme = Deno.readTextFileSync(`${UNITS_DIR}README.md`);
  for (const name of UNIT_FILES) {
    const unit = load(name);
    const [program, ...args] = execArgs(unit);
    assert.ok(program.startsWith("/"), `${name}: ExecStart needs an absolute path`);
    assert.ok(readme.includes(`\`${program}\``), `${name}: ${program} not in README.md`);
    if (name === ENGINE_UNIT) {
      assert.equal(program, "/usr/local/bin/ckpool");
      assert.match(Deno.readTextFileSync(`${REPO}ckpool/Makefile`), /^ckpool:/m);
      continue;
    }
    assert.equal(program, "/usr/local/bin/deno");
    assert.equal(value(unit, "Service", "WorkingDirectory"), INSTALL_ROOT.slice(0, -1));
    const scripts = args.filter((a) => a.endsWith(".ts"));
    assert.deepEqual(scripts, [`${FUNCTIONS[name].dir}/main.ts`]);
    assert.ok(Deno.statSync(REPO + scripts[0]).isFile, `${scripts[0]} missing`);
    for (const path of flagList(args, "--allow-read")) {
      if (path.startsWith(INSTALL_ROOT)) {
        const inRepo = REPO + path.slice(INSTALL_ROOT.length);
        assert.ok(Deno.statSync(inRepo).isDirectory, `${name}: ${path} not in the repo`);
      }
    }
  }
});

Deno.test("systemd units: the engine's command line uses only flags main.c parses", () => {
  const main = Deno.readTextFileSync(`${REPO}ckpool/src/main.c`);
  const optstring = /getopt\(argc, argv, "([^"]+)"\)/.exec(main)?.[1];
  assert.ok(optstring, "getopt string not found in ckpool/src/main.c");
  const [, ...args] = execArgs(load(ENGINE_UNIT));
  for (let i = 0; i < args.length; i++) {
    const flag = /^-([A-Za-z])$/.exec(args[i])?.[1];
    assert.ok(flag && optstring.includes(flag), `ckpool has no flag ${args[i]}`);
    if (optstring.includes(`${flag}:`)) i++;
  }
  const config = args[args.indexOf("-c") + 1];
  assert.equal(config, `/etc/tbg/ckpool-${INSTANCE}.json`);
  JSON.parse(Deno.readTextFileSync(exampleOf(config)));
});

for (const [name, fn] of Object.entries(FUNCTIONS)) {
  Deno.test(`systemd units: ${name} names only variables ${fn.dir} reads`, () => {
    const unit = load(name);
    const args = execArgs(unit);
    const allowed = flagList(args, "--allow-env");
    const files = unit.get("Service")?.get("EnvironmentFile") ?? [];
    assert.equal(files.length, 1, "one EnvironmentFile");
    const fromFile = [...envFile(exampleOf(files[0])).keys()];
    const inline = (unit.get("Service")?.get("Environment") ?? [])
      .flatMap((line) => line.split(/\s+/).map((kv) => kv.split("=")[0]));
    const source = sourceText(fn.dir);
    for (const v of [...allowed, ...fromFile]) {
      assert.ok(source.includes(`"${v}"`), `${v}: not read by ${fn.dir} (no "${v}" in its source)`);
      assert.ok(fn.vars.includes(v), `${v}: not in the function's list of variables`);
    }
    for (const v of inline) assert.ok(DENO_RUNTIME_VARS.includes(v), `Environment=${v}`);
    if (fn.allEnv) {
      assert.ok(args.includes("--allow-env"), `bare --allow-env (${fn.allEnv})`);
      assert.ok(
        Deno.readTextFileSync(UNITS_DIR + name).includes(fn.allEnv),
        `the unit says why it needs the whole environment (${fn.allEnv})`,
      );
      return;
    }
    // Deno refuses a read of any variable not granted, and the config reads them all.
    assert.deepEqual(
      [...allowed].sort(),
      [...fn.vars].sort(),
      "--allow-env = what the config reads",
    );
  });
}

Deno.test("systemd units: the example configs use the paths the units grant", () => {
  const engine = load(ENGINE_UNIT);
  const config = JSON.parse(Deno.readTextFileSync(`${EXAMPLES}ckpool-${INSTANCE}.json`));
  const socket: string = config.events.socket_path;
  for (const path of [config.logdir, config.state_dir, socket.replace(/\/[^/]+$/, "")]) {
    assert.ok(inside(path, writable(engine)), `engine: ${path} not in ReadWritePaths`);
  }
  const publisher = load("tbg-publisher@.service");
  const pubArgs = execArgs(publisher);
  const pubEnv = envFile(`${EXAMPLES}publisher-${INSTANCE}.env`);
  assert.equal(pubEnv.get("REGION"), config.region);
  assert.equal(pubEnv.get("PUBLISHER_SOCKET"), socket, "publisher binds the engine's socket");
  for (const key of ["PUBLISHER_SOCKET", "PUBLISHER_SPOOL_DIR", "PUBLISHER_DEADLETTER"]) {
    const path = pubEnv.get(key)!;
    for (const dirs of [writable(publisher), flagList(pubArgs, "--allow-write")]) {
      assert.ok(inside(path, dirs), `publisher: ${key}=${path} not granted (${dirs})`);
    }
  }
  const health = load("tbg-health.service");
  const regionsFile = envFile(`${EXAMPLES}health.env`).get("REGIONS_FILE")!;
  assert.ok(flagList(execArgs(health), "--allow-read").includes(regionsFile));
  JSON.parse(Deno.readTextFileSync(exampleOf(regionsFile)));
});

/** `systemd-analyze --version`'s first line, or why it cannot run. */
function analyzer(): { version?: string; why?: string } {
  if (Deno.permissions.querySync({ name: "run" }).state !== "granted") {
    return { why: "needs --allow-run" };
  }
  try {
    const out = new Deno.Command("systemd-analyze", { args: ["--version"], stdout: "piped" })
      .outputSync();
    if (out.success) return { version: new TextDecoder().decode(out.stdout).split("\n")[0] };
    return { why: "systemd-analyze --version failed" };
  } catch {
    return { why: "systemd-analyze is not installed" };
  }
}

const sa = analyzer();
Deno.test({
  name: sa.version
    ? `systemd units: systemd-analyze verify passes (${sa.version})`
    : `systemd units: systemd-analyze verify [ignored: ${sa.why}]`,
  ignore: !sa.version,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "tbg-systemd-" });
    try {
      // Templates are verified as their eu instance. verify also checks that
      // each program exists: one not installed here is replaced, for this
      // run only, by a stand-in, and the output says so.
      const standIns: Record<string, string> = {
        "/usr/local/bin/ckpool": `${REPO}ckpool/ckpool`,
        "/usr/local/bin/deno": Deno.execPath(),
      };
      const paths: string[] = [];
      for (const name of UNIT_FILES) {
        let text = Deno.readTextFileSync(UNITS_DIR + name);
        for (const [installed, standIn] of Object.entries(standIns)) {
          if (!text.includes(installed) || exists(installed)) continue;
          assert.ok(exists(standIn), `${installed} not installed and no ${standIn} to stand in`);
          text = text.replaceAll(installed, standIn);
          console.log(`  ${name}: ${installed} not installed; verified with ${standIn}`);
        }
        const path = `${dir}/${name.replace("@.", `@${INSTANCE}.`)}`;
        Deno.writeTextFileSync(path, text);
        paths.push(path);
      }
      const out = await new Deno.Command("systemd-analyze", {
        args: ["verify", ...paths],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const said = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      if (said.trim()) console.log(said.trim());
      assert.ok(out.success, `systemd-analyze verify failed:\n${said}`);
      const ours = said.split("\n").filter((l) => /tbg-[a-z]+(@eu)?\.service/.test(l));
      assert.deepEqual(ours, [], "verify has remarks on our units");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

function exists(path: string): boolean {
  try {
    return Deno.statSync(path).isFile;
  } catch {
    return false;
  }
}
