/**
 * Whether `events` may become a TimescaleDB hypertable, decided BEFORE any
 * `CREATE EXTENSION`: TimescaleDB installed but missing from
 * `shared_preload_libraries` answers `CREATE EXTENSION timescaledb` with a
 * FATAL error, which ends the backend (and the transaction with it). So the
 * migration asks the server first and only creates the extension when the
 * library is preloaded.
 */

/** What the server reports, read without touching the extension. */
export interface TimescaleProbe {
  /** `pg_available_extensions` lists `timescaledb` (its files are installed). */
  available: boolean;
  /**
   * `shared_preload_libraries` lists the TimescaleDB library; `"unknown"` when
   * this role may not read the setting (it needs superuser or pg_read_all_settings).
   */
  preloaded: boolean | "unknown";
}

export type TimescaleMode = "hypertable" | "plain_not_preloaded" | "plain_unknown" | "plain_absent";

export interface TimescaleDecision {
  mode: TimescaleMode;
  /** True when the migration should run CREATE EXTENSION and create_hypertable. */
  createExtension: boolean;
  /** How loudly to say it: a missing TimescaleDB is normal, a half-installed one is not. */
  level: "info" | "warn";
  message: string;
}

/**
 * The entries of a `shared_preload_libraries` value: comma-separated, each
 * possibly double-quoted, possibly a path or `$libdir/name`, possibly ending in `.so`.
 */
export function preloadLibraryNames(setting: string): string[] {
  return setting.split(",")
    .map((entry) => entry.trim().replace(/^"(.*)"$/, "$1").trim())
    .filter((entry) => entry.length > 0)
    .map((entry) => entry.slice(entry.lastIndexOf("/") + 1).replace(/\.so$/, ""));
}

/** True when the setting names TimescaleDB's loader (`timescaledb`) or a versioned library. */
export function preloadListsTimescale(setting: string): boolean {
  return preloadLibraryNames(setting).some((name) =>
    name === "timescaledb" || name.startsWith("timescaledb-")
  );
}

export function timescaleDecision(probe: TimescaleProbe): TimescaleDecision {
  if (!probe.available) {
    return {
      mode: "plain_absent",
      createExtension: false,
      level: "info",
      message: "timescaledb not installed: events stays a plain table",
    };
  }
  if (probe.preloaded === "unknown") {
    return {
      mode: "plain_unknown",
      createExtension: false,
      level: "warn",
      message: "timescaledb is installed but this role cannot read shared_preload_libraries " +
        "(needs superuser or pg_read_all_settings), and creating the extension without " +
        "preloading ends the connection: events stays a plain table",
    };
  }
  if (!probe.preloaded) {
    return {
      mode: "plain_not_preloaded",
      createExtension: false,
      level: "warn",
      message: "timescaledb is installed but not in shared_preload_libraries " +
        "(CREATE EXTENSION would end the connection): events stays a plain table; " +
        "add shared_preload_libraries = 'timescaledb' to postgresql.conf and restart " +
        "PostgreSQL to get a hypertable",
    };
  }
  return {
    mode: "hypertable",
    createExtension: true,
    level: "info",
    message: "timescaledb preloaded: events is a hypertable",
  };
}
