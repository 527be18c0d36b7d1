/**
 * A throwaway PostgreSQL 15 cluster for tests: initdb into a temp dir, trust
 * auth, 127.0.0.1 only, Unix socket inside the temp dir, database `tbg`
 * created. As root the server runs as the `postgres` OS user. Where the
 * TimescaleDB library is installed the server preloads it (postgresCommand).
 */

import {
  ensureDatabase,
  initPostgres,
  pgLibDir,
  POSTGRES_STOP_SIGNAL,
  postgresCommand,
  type PostgresLayout,
  postgresReady,
  postgresUrl,
  timescaleLibrary,
} from "../../stack/supervisor/native/postgres.ts";
import { chownTree, postgresOsUser } from "../../stack/supervisor/run_as.ts";
import { launchService, type ServiceHandle, withPort } from "./service.ts";

export interface PostgresOptions {
  /** A free port when omitted. */
  port?: number;
  /** Database created after initdb; defaults to `tbg`. */
  database?: string;
}

export interface PostgresServer extends ServiceHandle {
  /** `postgres://tbg@127.0.0.1:<port>/<database>` */
  readonly url: string;
  readonly port: number;
  readonly database: string;
  readonly user: string;
  readonly dataDir: string;
  /** The TimescaleDB library this server preloads; undefined where none is installed. */
  readonly timescale: string | undefined;
}

export function startPostgres(options: PostgresOptions = {}): Promise<PostgresServer> {
  const database = options.database ?? "tbg";
  return withPort(options.port, async (port) => {
    const tmp = await Deno.makeTempDir({ prefix: "tbg-pg-" });
    const osUser = postgresOsUser();
    await chownTree(tmp, osUser);
    const layout: PostgresLayout = {
      dataDir: `${tmp}/data`,
      socketDir: `${tmp}/run`,
      port,
      user: "tbg",
      osUser,
    };
    try {
      await initPostgres(layout, false);
    } catch (error) {
      await Deno.remove(tmp, { recursive: true }).catch(() => {});
      throw error;
    }
    const libDir = pgLibDir();
    const handle = await launchService({
      name: "postgres",
      command: () => postgresCommand(layout, libDir),
      ready: postgresReady(layout),
      afterFirstReady: () => ensureDatabase(layout, database),
      stopSignal: POSTGRES_STOP_SIGNAL,
      processGroup: true,
      logPath: `${tmp}/postgres.log`,
      ownedDirs: [tmp],
      readyTimeoutMs: 60_000,
    });
    return Object.assign(handle, {
      url: postgresUrl(layout, database),
      port,
      database,
      user: layout.user,
      dataDir: layout.dataDir,
      timescale: timescaleLibrary(libDir),
    });
  });
}
