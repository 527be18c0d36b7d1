/**
 * PostgreSQL 15 in a private data directory: initdb, the server command line,
 * readiness and database creation, shared by the stack and tests. Listens on
 * 127.0.0.1 only, trust authentication, its Unix socket inside the data area.
 * Where the TimescaleDB library is installed the server preloads it, so the
 * collector's `events` table becomes a hypertable (TimescaleDB refuses to be
 * created without preloading, and ends the connection that tries).
 */

import type { CommandSpec } from "../types.ts";
import { postgresAccepting } from "../readiness.ts";
import { chownTree, type OsUser, wrapCommand } from "../run_as.ts";

/** Where the PostgreSQL 15 programs live; env `TBG_PG_BIN` overrides (read lazily). */
export function pgBin(): string {
  return Deno.env.get("TBG_PG_BIN") ?? "/usr/lib/postgresql/15/bin";
}

export interface PostgresLayout {
  /** The cluster directory (`PGDATA`). */
  dataDir: string;
  /** Where the Unix socket goes; must be short (sockets paths are limited to ~107 bytes). */
  socketDir: string;
  port: number;
  /** Database superuser created by initdb. */
  user: string;
  /** OS user the programs run as: `postgres` when we are root, null for ourselves. */
  osUser: OsUser | null;
}

async function run(spec: CommandSpec, what: string): Promise<string> {
  const out = await new Deno.Command(spec.cmd, {
    args: spec.args,
    cwd: spec.cwd,
    env: spec.env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (out.code !== 0) {
    throw new Error(`postgres: ${what} failed (exit ${out.code}): ${text.trim()}`);
  }
  return text;
}

/** Creates the cluster unless `dataDir` already holds one. `sync: false` speeds up tests. */
export async function initPostgres(layout: PostgresLayout, sync = true): Promise<void> {
  await Deno.mkdir(layout.socketDir, { recursive: true });
  await chownTree(layout.socketDir, layout.osUser);
  try {
    await Deno.stat(`${layout.dataDir}/PG_VERSION`);
    return;
  } catch {
    // no cluster yet
  }
  await Deno.mkdir(layout.dataDir, { recursive: true, mode: 0o700 });
  await chownTree(layout.dataDir, layout.osUser);
  const args = [
    "-D",
    layout.dataDir,
    "-U",
    layout.user,
    "--auth=trust",
    "--encoding=UTF8",
    "--locale=C",
  ];
  if (!sync) args.push("--no-sync");
  // cwd: a directory the postgres OS user may enter, or initdb warns about it.
  await run(
    wrapCommand({ cmd: `${pgBin()}/initdb`, args, cwd: layout.dataDir }, layout.osUser),
    `initdb in ${layout.dataDir}`,
  );
}

/**
 * Where this PostgreSQL's loadable libraries live: `pg_config --pkglibdir` of
 * the same installation (never a pg_config elsewhere on PATH: another major
 * version's library would stop the server from starting), else `<bin>/../lib`.
 */
export function pgLibDir(bin: string = pgBin()): string {
  try {
    const out = new Deno.Command(`${bin}/pg_config`, {
      args: ["--pkglibdir"],
      stdout: "piped",
      stderr: "null",
    }).outputSync();
    const dir = new TextDecoder().decode(out.stdout).trim();
    if (out.success && dir !== "") return dir;
  } catch {
    // no pg_config beside the server
  }
  return bin.replace(/\/bin\/?$/, "") + "/lib";
}

const TIMESCALE_LIBRARY = /^timescaledb(?:-(\d+(?:\.\d+)*))?\.so$/;

/**
 * The TimescaleDB library to preload from `libDir`: the loader `timescaledb`
 * when present, else the newest versioned `timescaledb-X.Y.Z`; undefined when
 * none is installed (or the directory is unreadable).
 */
export function timescaleLibrary(libDir: string): string | undefined {
  const versions: number[][] = [];
  try {
    for (const entry of Deno.readDirSync(libDir)) {
      const match = TIMESCALE_LIBRARY.exec(entry.name);
      if (!match || entry.isDirectory) continue;
      if (match[1] === undefined) return "timescaledb";
      versions.push(match[1].split(".").map(Number));
    }
  } catch {
    return undefined;
  }
  if (versions.length === 0) return undefined;
  const newer = (a: number[], b: number[]) => {
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
    }
    return 0;
  };
  versions.sort(newer);
  return `timescaledb-${versions[versions.length - 1].join(".")}`;
}

/** The server arguments that preload TimescaleDB when `libDir` holds it, else none. */
export function timescalePreloadArgs(libDir: string): string[] {
  const library = timescaleLibrary(libDir);
  return library === undefined ? [] : ["-c", `shared_preload_libraries=${library}`];
}

/**
 * The postmaster, in its own process group so a crash simulation can kill its
 * children too; TimescaleDB preloaded when `libDir` holds it.
 */
export function postgresCommand(layout: PostgresLayout, libDir: string = pgLibDir()): CommandSpec {
  const spec: CommandSpec = {
    cmd: `${pgBin()}/postgres`,
    args: [
      "-D",
      layout.dataDir,
      "-p",
      String(layout.port),
      "-h",
      "127.0.0.1",
      "-k",
      layout.socketDir,
      "-c",
      "logging_collector=off",
      ...timescalePreloadArgs(libDir),
    ],
    cwd: layout.dataDir,
  };
  return wrapCommand(spec, layout.osUser, true);
}

export function postgresReady(layout: PostgresLayout): () => Promise<boolean> {
  return () => postgresAccepting(pgBin(), layout.port, layout.user);
}

/** Creates database `name` unless it exists. */
export async function ensureDatabase(layout: PostgresLayout, name: string): Promise<void> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) {
    throw new Error(`postgres: database name "${name}" must match [a-z_][a-z0-9_]*`);
  }
  const conn = ["-h", "127.0.0.1", "-p", String(layout.port), "-U", layout.user];
  const exists = await run({
    cmd: `${pgBin()}/psql`,
    args: [
      ...conn,
      "-d",
      "postgres",
      "-tAc",
      `SELECT 1 FROM pg_database WHERE datname = '${name}'`,
    ],
  }, `looking up database ${name}`);
  if (exists.trim() === "1") return;
  await run({ cmd: `${pgBin()}/createdb`, args: [...conn, name] }, `createdb ${name}`);
}

export function postgresUrl(layout: PostgresLayout, database: string): string {
  return `postgres://${layout.user}@127.0.0.1:${layout.port}/${database}`;
}

/** SIGINT is PostgreSQL's "fast" shutdown: disconnect clients, checkpoint, exit 0. */
export const POSTGRES_STOP_SIGNAL: Deno.Signal = "SIGINT";
