/**
 * Schema migrations: the versioned SQL files in ./migrations (NNN_name.sql)
 * plus one code step that turns `events` into a TimescaleDB hypertable when
 * the extension is available. All pending steps run in one transaction under
 * an advisory lock, each recorded in schema_migrations.
 */

import type { Sql, TransactionSql } from "postgres";

export interface Migration {
  version: number;
  name: string;
  apply(tx: TransactionSql): Promise<string | void>;
}

export interface MigrationResult {
  applied: string[];
  /** True when `events` is a hypertable. */
  hypertable: boolean;
}

const MIGRATIONS_DIR = new URL("./migrations/", import.meta.url);
const FILE = /^(\d{3})_([a-z0-9_]+)\.sql$/;
/** Arbitrary constant shared by every collector: one migrator at a time. */
const LOCK_KEY = 7_243_001;

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

/** Version 100: hypertable where TimescaleDB is available, else keep the plain table. */
export const TIMESCALE_MIGRATION: Migration = {
  version: 100,
  name: "timescale_hypertable",
  async apply(tx) {
    const available = await tx`
      select 1 from pg_available_extensions where name = 'timescaledb'`;
    if (available.length === 0) return "timescaledb not available: events stays a plain table";
    try {
      await tx.savepoint(async (sp) => {
        await sp`create extension if not exists timescaledb`;
        await sp`select create_hypertable('events', 'ts', if_not_exists => true, migrate_data => true)`;
      });
      return "events is a hypertable";
    } catch (error) {
      return `timescaledb available but not usable (${(error as Error).message}): plain table`;
    }
  },
};

export async function allMigrations(): Promise<Migration[]> {
  return [...await loadSqlMigrations(), TIMESCALE_MIGRATION];
}

export async function migrate(
  sql: Sql,
  migrations: Migration[],
  log: (msg: string, fields: Record<string, unknown>) => void = () => {},
): Promise<MigrationResult> {
  const versions = new Set<number>();
  for (const m of migrations) {
    if (versions.has(m.version)) throw new Error(`migrations: duplicate version ${m.version}`);
    versions.add(m.version);
  }
  const applied: string[] = [];
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${LOCK_KEY})`;
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
      if (done.has(m.version)) continue;
      const note = (await m.apply(tx)) ?? null;
      await tx`insert into schema_migrations (version, name, note)
               values (${m.version}, ${m.name}, ${note})`;
      applied.push(`${String(m.version).padStart(3, "0")}_${m.name}`);
      log("migration applied", { version: m.version, name: m.name, note });
    }
  });
  const hyper = await sql`
    select 1 from pg_extension where extname = 'timescaledb'`.then(async (ext) =>
    ext.length === 0 ? [] : await sql`
      select 1 from timescaledb_information.hypertables where hypertable_name = 'events'`
  );
  return { applied, hypertable: hyper.length > 0 };
}
