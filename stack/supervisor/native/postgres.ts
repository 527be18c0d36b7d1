/**
 * PostgreSQL 15 in a private data directory: initdb, the server command line,
 * readiness and database creation, shared by the stack and tests. Listens on
 * 127.0.0.1 only, trust authentication, its Unix socket inside the data area.
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

/** The postmaster, in its own process group so a crash simulation can kill its children too. */
export function postgresCommand(layout: PostgresLayout): CommandSpec {
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
