/**
 * A PostgreSQL connection that dies in the middle of the migration (the
 * backend ends with FATAL, as TimescaleDB does on CREATE EXTENSION without
 * preloading) fails that attempt with an error and never crashes the
 * process; a later attempt migrates. Plus the one safety net for
 * postgres.js's closed-socket write, triggered for real.
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import postgres from "postgres";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import { startPostgres } from "../../lib/harness/postgres.ts";
import { waitFor } from "../../lib/ports.ts";
import {
  allMigrations,
  isErrorOnLiveConnection,
  migrate,
  type Migration,
  probeTimescale,
} from "../../functions/collector/migrate.ts";
import {
  installClosedSocketWriteGuard,
  isClosedSocketWriteFault,
  PgClient,
} from "../../functions/collector/pg_client.ts";

/** A step whose statement ends its own backend, like an unpreloaded TimescaleDB. */
const killOwnBackend = (inSavepoint: boolean): Migration => ({
  version: 1,
  name: "events",
  async apply(tx) {
    if (inSavepoint) await tx`savepoint s`;
    await tx`select pg_terminate_backend(pg_backend_pid())`;
  },
});

requires({
  name: "migrate: a backend killed mid-migration rejects the attempt; the next one migrates",
  permissions: SERVICE_PERMISSIONS,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const pg = await startPostgres();
    const options = { max: 1, onnotice: () => {}, connect_timeout: 5 };
    const sql = postgres(pg.url, options);
    // Any uncaught error fails this test (Deno reports it): no guard installed here.
    try {
      for (const inSavepoint of [false, true]) {
        // A client of its own: postgres.js hands a killed query's FATAL to the
        // first query after that connection reconnects (a spurious failure the
        // collector's retries absorb), which would blur what this asserts.
        const own = postgres(pg.url, options);
        const outcome = await migrate(own, [killOwnBackend(inSavepoint)]).then(
          () => "migrated",
          (error) => isErrorOnLiveConnection(error) ? "server error" : error.code,
        );
        await own.end({ timeout: 1 });
        assertEquals({ inSavepoint, outcome }, { inSavepoint, outcome: "CONNECTION_CLOSED" });
      }
      // Nothing half-applied: schema_migrations is created inside the killed transactions.
      const [{ n }] = await sql<{ n: string }[]>`
        select count(*)::text as n from information_schema.tables
        where table_name = 'schema_migrations'`;
      assertEquals(n, "0");
      const result = await migrate(sql, await allMigrations());
      assertEquals(result.applied, [
        "001_events",
        "002_blocks",
        "003_event_sources",
        "004_miner_lookup",
        "100_timescale_hypertable",
      ]);
      // The harness preloads TimescaleDB wherever it is installed: a hypertable
      // there, a plain table elsewhere (this machine), decided up front.
      const installed = pg.timescale !== undefined;
      assertEquals(await probeTimescale(sql), { available: installed, preloaded: installed });
      assertEquals(
        [result.timescale, result.hypertable],
        installed ? ["hypertable", true] : ["plain_absent", false],
      );
      const [note] = await sql<{ note: string }[]>`
        select note from schema_migrations where version = 100`;
      assertEquals(
        note.note,
        installed
          ? "events is a hypertable"
          : "timescaledb not installed: events stays a plain table",
      );
    } finally {
      await sql.end({ timeout: 1 });
      await pg.stop();
    }
  },
});

requires({
  name:
    "pg client guard: postgres.js's closed-socket write is caught, logged and the client replaced",
  permissions: SERVICE_PERMISSIONS,
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const pg = await startPostgres();
    // connect_timeout 2 s: the connection the fault poisons never connects again,
    // so reusing the old client would fail the query below with CONNECT_TIMEOUT.
    const client = new PgClient(pg.url, { max: 1, onnotice: () => {}, connect_timeout: 2 });
    const faults: string[] = [];
    const remove = installClosedSocketWriteGuard((error) => {
      faults.push(error.message);
      client.replace();
    });
    try {
      // postgres.js's own begin() sends ROLLBACK on the dead connection: the fault, for real.
      const begin = await client.sql.begin(async (tx) => {
        await tx`select pg_terminate_backend(pg_backend_pid())`;
      }).then(() => "committed", (error) => (error as { code?: string }).code);
      assertEquals(begin, "CONNECTION_CLOSED");
      await waitFor(() => faults.length > 0, { timeoutMs: 10_000, what: "the guard to fire" });
      assertEquals(faults, ["Cannot read properties of null (reading 'write')"]);
      assertEquals(client.replaced, 1);
      const [row] = await client.sql<{ x: number }[]>`select 1 as x`;
      assertEquals(row.x, 1);
    } finally {
      remove();
      await client.end({ timeout: 1 });
      await pg.stop();
    }
  },
});

Deno.test("pg client guard: matches only the postgres.js closed-socket write", () => {
  const fault = new TypeError("Cannot read properties of null (reading 'write')");
  fault.stack = `TypeError: ${fault.message}\n    at Immediate.nextWrite ` +
    `(file:///cache/npm/registry.npmjs.org/postgres/3.4.9/src/connection.js:255:22)`;
  assertEquals(isClosedSocketWriteFault(fault), true);
  const elsewhere = new TypeError("Cannot read properties of null (reading 'write')");
  elsewhere.stack = `TypeError: ${elsewhere.message}\n    at flush (file:///app/mine.ts:1:1)`;
  assertEquals(isClosedSocketWriteFault(elsewhere), false);
  const other = new TypeError("Cannot read properties of null (reading 'end')");
  other.stack = fault.stack.replace("'write'", "'end'");
  assertEquals(isClosedSocketWriteFault(other), false);
  assertEquals(isClosedSocketWriteFault(new Error(fault.message)), false);
  assertEquals(isClosedSocketWriteFault(undefined), false);
});
