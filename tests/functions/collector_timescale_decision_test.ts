/**
 * The TimescaleDB decision the migration takes before any CREATE EXTENSION,
 * for every combination of (installed, preloaded), and the parsing of
 * `shared_preload_libraries` it rests on.
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import {
  preloadLibraryNames,
  preloadListsTimescale,
  timescaleDecision,
} from "../../functions/collector/timescale.ts";

Deno.test("timescale decision: each combination of available and preloaded", () => {
  const summary = (available: boolean, preloaded: boolean | "unknown") => {
    const d = timescaleDecision({ available, preloaded });
    return [d.mode, d.createExtension, d.level];
  };
  assertEquals(summary(true, true), ["hypertable", true, "info"]);
  assertEquals(summary(true, false), ["plain_not_preloaded", false, "warn"]);
  assertEquals(summary(true, "unknown"), ["plain_unknown", false, "warn"]);
  assertEquals(summary(false, false), ["plain_absent", false, "info"]);
  // Preloaded without the extension's files (a stale setting): nothing to create.
  assertEquals(summary(false, true), ["plain_absent", false, "info"]);
  assertEquals(summary(false, "unknown"), ["plain_absent", false, "info"]);
});

Deno.test("timescale decision: the not-preloaded warning tells the operator the fix", () => {
  const d = timescaleDecision({ available: true, preloaded: false });
  assertEquals(d.message.includes("shared_preload_libraries = 'timescaledb'"), true);
  assertEquals(d.message.includes("plain table"), true);
});

Deno.test("shared_preload_libraries: entries, quotes, paths and .so suffixes", () => {
  assertEquals(preloadLibraryNames(""), []);
  assertEquals(preloadLibraryNames(" , "), []);
  assertEquals(
    preloadLibraryNames(`pg_stat_statements, "timescaledb" ,$libdir/auto_explain.so`),
    ["pg_stat_statements", "timescaledb", "auto_explain"],
  );
  assertEquals(preloadListsTimescale("timescaledb"), true);
  assertEquals(preloadListsTimescale("pg_stat_statements,timescaledb"), true);
  assertEquals(preloadListsTimescale(`"$libdir/timescaledb"`), true);
  assertEquals(preloadListsTimescale("/usr/lib/postgresql/15/lib/timescaledb.so"), true);
  assertEquals(preloadListsTimescale("timescaledb-2.17.2"), true);
  assertEquals(preloadListsTimescale(""), false);
  assertEquals(preloadListsTimescale("pg_stat_statements"), false);
  assertEquals(preloadListsTimescale("timescaledb_toolkit"), false);
  assertEquals(preloadListsTimescale("not_timescaledb"), false);
});
