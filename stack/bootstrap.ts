/**
 * Makes sure the Debian packages the stack, the engine build and the tests
 * need are installed. Runs first in `deno task build`, `test` and `up`.
 *
 * Everything present: prints one line and exits 0 (fast). Something missing:
 * as root, `apt-get update` + `apt-get install` of exactly the packages that
 * provide what is missing (with service auto-start blocked during the
 * install: our stack never uses the default ports, but nothing should start
 * behind the operator's back); not root, exit 1 with the `sudo apt-get` line.
 */

import { findCommand } from "./supervisor/which.ts";

interface Requirement {
  /** What we look for, for messages. */
  what: string;
  /** Debian 12 package that provides it. */
  pkg: string;
  present: () => boolean | Promise<boolean>;
}

const PG_POSTGRES = "/usr/lib/postgresql/15/bin/postgres";
const POLICY_RC = "/usr/sbin/policy-rc.d";
/** libFuzzer's runtime: `clang` only recommends it, and we install without recommends. */
const FUZZER_RT = "/usr/lib/llvm-14/lib/clang/14.0.6/lib/linux/libclang_rt.fuzzer-x86_64.a";

function commandRequirement(name: string, pkg: string): Requirement {
  return { what: `command ${name}`, pkg, present: () => findCommand(name) !== null };
}

async function pkgConfigHas(module: string): Promise<boolean> {
  if (!findCommand("pkg-config")) return false;
  const { code } = await new Deno.Command("pkg-config", {
    args: ["--exists", module],
    stdout: "null",
    stderr: "null",
  }).output();
  return code === 0;
}

function fileRequirement(path: string, pkg: string): Requirement {
  const present = () => {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  };
  return { what: `file ${path}`, pkg, present };
}

function headerRequirement(module: string, pkg: string): Requirement {
  return { what: `pkg-config module ${module}`, pkg, present: () => pkgConfigHas(module) };
}

export const REQUIREMENTS: readonly Requirement[] = [
  commandRequirement("nats-server", "nats-server"),
  commandRequirement("redis-server", "redis-server"),
  commandRequirement(PG_POSTGRES, "postgresql-15"),
  commandRequirement("cc", "build-essential"),
  commandRequirement("make", "build-essential"),
  commandRequirement("pkg-config", "pkg-config"),
  // relay-link TLS certificates for the native stack and tests (lib/tls_certs.ts)
  commandRequirement("openssl", "openssl"),
  headerRequirement("jansson", "libjansson-dev"),
  headerRequirement("libcurl", "libcurl4-openssl-dev"),
  headerRequirement("openssl", "libssl-dev"),
  headerRequirement("libzmq", "libzmq3-dev"),
  headerRequirement("cmocka", "libcmocka-dev"),
  // the engine's fuzz targets (`make -C ckpool fuzz`, FUZZ_CC=clang) and their sanitizers
  commandRequirement("clang", "clang"),
  fileRequirement(FUZZER_RT, "libclang-rt-14-dev"),
  // `promtool check metrics` / `check rules` / `test rules` in the Prometheus tests; the
  // package's prometheus service stays down (policy-rc.d above), we only want the tool
  commandRequirement("promtool", "prometheus"),
  // the miner page's browser test (tests/functions/miner_api_browser_test.ts), headless
  fileRequirement("/usr/bin/chromium", "chromium"),
];

function say(line: string): void {
  console.log(`[bootstrap] ${line}`);
}

/** The requirements not met right now. */
async function missing(): Promise<Requirement[]> {
  const results = await Promise.all(REQUIREMENTS.map(async (r) => [r, await r.present()] as const));
  return results.filter(([, ok]) => !ok).map(([r]) => r);
}

async function apt(args: string[]): Promise<void> {
  say(`running apt-get ${args.join(" ")}`);
  const { code } = await new Deno.Command("apt-get", {
    args,
    env: { DEBIAN_FRONTEND: "noninteractive" },
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) throw new Error(`apt-get ${args[0]} failed with exit code ${code}`);
}

/** Installs `packages` with service auto-start blocked by a temporary policy-rc.d. */
async function install(packages: string[]): Promise<void> {
  let wrotePolicy = false;
  try {
    await Deno.lstat(POLICY_RC);
  } catch {
    // Exit code 101 tells invoke-rc.d "action forbidden": packages install, services stay down.
    await Deno.writeTextFile(POLICY_RC, "#!/bin/sh\nexit 101\n", { mode: 0o755 });
    wrotePolicy = true;
  }
  try {
    await apt(["update"]);
    await apt(["install", "-y", "--no-install-recommends", ...packages]);
  } finally {
    if (wrotePolicy) await Deno.remove(POLICY_RC).catch(() => {});
  }
}

async function main(): Promise<number> {
  const absent = await missing();
  if (absent.length === 0) {
    say("system packages present");
    return 0;
  }
  const packages = [...new Set(absent.map((r) => r.pkg))];
  for (const r of absent) say(`missing ${r.what} (Debian package ${r.pkg})`);
  const line = `apt-get install -y --no-install-recommends ${packages.join(" ")}`;
  if (Deno.uid() !== 0) {
    console.error(`[bootstrap] not root, so not installing. Run:\n  sudo ${line}`);
    return 1;
  }
  await install(packages);
  const still = await missing();
  if (still.length > 0) {
    console.error(
      `[bootstrap] still missing after install: ${still.map((r) => r.what).join(", ")}`,
    );
    return 1;
  }
  say(`installed ${packages.join(" ")}`);
  return 0;
}

if (import.meta.main) {
  try {
    Deno.exit(await main());
  } catch (error) {
    console.error(`[bootstrap] ${(error as Error).message}`);
    Deno.exit(1);
  }
}
