/**
 * Schema migrations: the versioned SQL files in ./migrations (NNN_name.sql)
 * plus one code step that turns `events` into a TimescaleDB hypertable when
 * the extension is installed AND preloaded (timescale.ts decides, before any
 * CREATE EXTENSION). All pending steps run in one transaction under an
 * advisory lock, each recorded in schema_migrations.
 *
 * The transaction runs on a reserved connection driven by hand (not
 * `sql.begin`): when the connection dies mid-transaction, postgres.js's
 * `begin` still sends ROLLBACK on it, and a query on a closed reserved
 * connection throws an uncaught TypeError ("reading 'write'") from a timer,
 * which kills the process. Here a connection that failed with anything but
 * an ordinary server error is never written to again, and never released.
 */

import postgres, { type Sql } from "postgres";
import type { Logger } from "../lib/log.ts";
import {
  preloadListsTimescale,
  type TimescaleDecision,
  timescaleDecision,
  type TimescaleMode,
  type TimescaleProbe,
} from "./timescale.ts";

export type MigrationLog = Pick<Logger, "info" | "warn">;

export interface MigrationContext {
  /** What the server allows for TimescaleDB, probed before the transaction. */
  timescale: TimescaleDecision;
  log: MigrationLog;
}

export interface Migration {
  version: number;
  name: string;
  /** Runs inside the migration transaction; the returned note goes into schema_migrations. */
  apply(tx: Sql, context: MigrationContext): Promise<string | void>;
  /**
   * Runs again on every later start (and updates its note): for a step that
   * depends on the server's setup, which an operator may fix after the first start.
   */
  everyStart?: boolean;
}

export interface MigrationResult {
  applied: string[];
  /** True when `events` is a hypertable. */
  hypertable: boolean;
  /** The TimescaleDB decision this start. */
  timescale: TimescaleMode;
}

const MIGRATIONS_DIR = new URL("./migrations/", import.meta.url);
const FILE = /^(\d{3})_([a-z0-9_]+)\.sql$/;
/** Arbitrary constant shared by every collector: one migrator at a time. */
export const MIGRATION_LOCK_KEY = 7_243_001;

const SILENT: MigrationLog = { info: () => {}, warn: () => {} };

export async function loadSqlMigrations(dir: URL = MIGRATIONS_DIR): Promise<Migration[]> {
  const migrations: Migration[] = [];
  for await (const entry of Deno.readDir(dir)) {
    const match = FILE.exec(entry.name);
    if (!entry.isFile || !match) continue;
    const text = await Deno.readTextFile(new URL(entry.name, dir));
    migrations.push({
      version: Number(match[1]),
      name: match[2],
      apply: async (tx) => {
        await tx.unsafe(text);
      },
    });
  }
  return migrations.sort((a, b) => a.version - b.version);
}

/**
 * True when `error` is an ordinary server error (an ErrorResponse below FATAL,
 * followed by ReadyForQuery): the connection is alive and may roll back.
 * Anything else (connection closed, reset, timed out, FATAL) means the
 * connection is gone or unknown.
 */
export function isErrorOnLiveConnection(error: unknown): boolean {
  return error instanceof postgres.PostgresError &&
    error.severity !== "FATAL" && error.severity !== "PANIC";
}

/** Reads what decides the TimescaleDB step, without loading the extension. */
export async function probeTimescale(sql: Sql): Promise<TimescaleProbe> {
  const [row] = await sql<{ available: boolean }[]>`
    select exists (select 1 from pg_available_extensions where name = 'timescaledb') as available`;
  let preloaded: TimescaleProbe["preloaded"];
  try {
    const [setting] = await sql<{ value: string }[]>`
      select current_setting('shared_preload_libraries') as value`;
    preloaded = preloadListsTimescale(setting.value);
  } catch (error) {
    // 42501 insufficient_privilege: the setting is superuser / pg_read_all_settings only.
    if ((error as { code?: string }).code !== "42501") throw error;
    preloaded = "unknown";
  }
  return { available: row.available, preloaded };
}

/** Runs `fn` inside a savepoint; rolls back to it on a server error (connection alive). */
async function inSavepoint(tx: Sql, name: string, fn: () => Promise<void>): Promise<void> {
  await tx.unsafe(`savepoint ${name}`);
  try {
    await fn();
  } catch (error) {
    if (isErrorOnLiveConnection(error)) await tx.unsafe(`rollback to savepoint ${name}`);
    throw error;
  }
  await tx.unsafe(`release savepoint ${name}`);
}

/** Version 100: hypertable where TimescaleDB is preloaded, else keep the plain table. */
export const TIMESCALE_MIGRATION: Migration = {
  version: 100,
  name: "timescale_hypertable",
  everyStart: true,
  async apply(tx, { timescale, log }) {
    if (!timescale.createExtension) return timescale.message;
    try {
      await inSavepoint(tx, "timescale", async () => {
        await tx`create extension if not exists timescaledb`;
        await tx`select create_hypertable('events', 'ts', if_not_exists => true, migrate_data => true)`;
      });
      return "events is a hypertable";
    } catch (error) {
      if (!isErrorOnLiveConnection(error)) throw error;
      const note = `timescaledb preloaded but not usable (${
        (error as Error).message
      }): events stays a plain table`;
      log.warn(note, { sqlstate: (error as { code?: string }).code });
      return note;
    }
  },
};

export async function allMigrations(): Promise<Migration[]> {
  return [...await loadSqlMigrations(), TIMESCALE_MIGRATION];
}

/**
 * BEGIN .. COMMIT on a reserved connection. On an ordinary server error the
 * transaction is rolled back and the connection released; on any other error
 * the connection is left alone (postgres.js retires it when it closes; a live
 * one left in a transaction is ended by the server's
 * idle_in_transaction_session_timeout, which the collector sets).
 */
async function inTransaction<T>(sql: Sql, fn: (tx: Sql) => Promise<T>): Promise<T> {
  const tx = await sql.reserve();
  let release = false;
  try {
    await tx`begin`;
    const result = await fn(tx);
    await tx`commit`;
    release = true;
    return result;
  } catch (error) {
    if (isErrorOnLiveConnection(error)) {
      release = await tx`rollback`.then(() => true, () => false);
    }
    throw error;
  } finally {
    if (release) tx.release();
  }
}

export async function migrate(
  sql: Sql,
  migrations: Migration[],
  log: MigrationLog = SILENT,
): Promise<MigrationResult> {
  const versions = new Set<number>();
  for (const m of migrations) {
    if (versions.has(m.version)) throw new Error(`migrations: duplicate version ${m.version}`);
    versions.add(m.version);
  }
  const timescale = timescaleDecision(await probeTimescale(sql));
  log[timescale.level](timescale.message, { timescale: timescale.mode });
  const context: MigrationContext = { timescale, log };
  const applied: string[] = [];
  await inTransaction(sql, async (tx) => {
    await tx`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`;
    await tx`
      create table if not exists schema_migrations (
        version    integer     primary key,
        name       text        not null,
        note       text,
        applied_at timestamptz not null default now()
      )`;
    const done = new Set(
      (await tx<{ version: number }[]>`select version from schema_migrations`).map((r) =>
        r.version
      ),
    );
    for (const m of migrations) {
      if (done.has(m.version)) {
        if (!m.everyStart) continue;
        const note = (await m.apply(tx, context)) ?? null;
        await tx`update schema_migrations set note = ${note}
                 where version = ${m.version} and note is distinct from ${note}`;
        continue;
      }
      const note = (await m.apply(tx, context)) ?? null;
      await tx`insert into schema_migrations (version, name, note)
               values (${m.version}, ${m.name}, ${note})`;
      applied.push(`${String(m.version).padStart(3, "0")}_${m.name}`);
      log.info("migration applied", { version: m.version, name: m.name, note });
    }
  });
  // Only ask TimescaleDB's catalog when the library is preloaded: touching the
  // extension otherwise can end the connection the same way CREATE EXTENSION does.
  const hypertable = timescale.createExtension && (await sql`
    select 1 from pg_extension where extname = 'timescaledb'`).length > 0 &&
    (await sql`
    select 1 from timescaledb_information.hypertables where hypertable_name = 'events'`)
        .length > 0;
  return { applied, hypertable, timescale: timescale.mode };
}
