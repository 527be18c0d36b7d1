/**
 * The native stack preloads TimescaleDB wherever its library is installed:
 * the argument builder against temp library directories with and without a
 * timescaledb .so, the lib dir lookup, and a real server started with the
 * preload argument (nothing is installed into the system PostgreSQL: the
 * server, which loads from its own lib dir, refuses the missing library by name).
 */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { requires, SERVICE_PERMISSIONS } from "../harness/permissions.ts";
import {
  initPostgres,
  pgLibDir,
  postgresCommand,
  type PostgresLayout,
  timescaleLibrary,
  timescalePreloadArgs,
} from "../../stack/supervisor/native/postgres.ts";
import { chownTree, postgresOsUser } from "../../stack/supervisor/run_as.ts";
import { freePort } from "../../lib/ports.ts";

async function libDirWith(files: string[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "tbg-pglib-" });
  for (const name of files) await Deno.writeTextFile(`${dir}/${name}`, "");
  return dir;
}

requires({
  name: "postgres preload: timescaledb .so present or not in the library directory",
  permissions: ["read", "write"],
  async fn() {
    const cases: Array<[string[], string[]]> = [
      [[], []],
      [["plpgsql.so", "pg_stat_statements.so"], []],
      // Neither the toolkit nor the TSL module is the loader that must be preloaded.
      [["timescaledb_toolkit.so", "timescaledb-tsl-2.17.2.so", "timescaledb.control"], []],
      [["timescaledb.so"], ["-c", "shared_preload_libraries=timescaledb"]],
      [
        ["timescaledb-2.9.1.so", "timescaledb.so", "timescaledb-2.17.2.so"],
        ["-c", "shared_preload_libraries=timescaledb"],
      ],
      // Versioned libraries only: the newest, compared as numbers (17 > 9).
      [
        ["timescaledb-2.9.1.so", "timescaledb-2.17.2.so", "timescaledb-tsl-2.17.2.so"],
        ["-c", "shared_preload_libraries=timescaledb-2.17.2"],
      ],
    ];
    for (const [files, expected] of cases) {
      const dir = await libDirWith(files);
      try {
        assertEquals({ files, args: timescalePreloadArgs(dir) }, { files, args: expected });
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }
    assertEquals(timescalePreloadArgs("/nonexistent/tbg-pglib"), []);
    assertEquals(timescaleLibrary("/nonexistent/tbg-pglib"), undefined);
  },
});

requires({
  name: "postgres preload: the lib dir comes from the server's own pg_config, else <bin>/../lib",
  permissions: ["read", "write", "run"],
  async fn() {
    const root = await Deno.makeTempDir({ prefix: "tbg-pgbin-" });
    try {
      await Deno.mkdir(`${root}/bin`);
      assertEquals(pgLibDir(`${root}/bin`), `${root}/lib`);
      await Deno.writeTextFile(
        `${root}/bin/pg_config`,
        `#!/bin/sh\n[ "$1" = --pkglibdir ] && echo ${root}/pkglib\n`,
      );
      await Deno.chmod(`${root}/bin/pg_config`, 0o755);
      assertEquals(pgLibDir(`${root}/bin`), `${root}/pkglib`);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

requires({
  name: "postgres preload: the command carries the preload, and a real server acts on it",
  permissions: SERVICE_PERMISSIONS,
  async fn() {
    const tmp = await Deno.makeTempDir({ prefix: "tbg-pg-preload-" });
    const withSo = await libDirWith(["timescaledb.so"]);
    const without = await libDirWith([]);
    try {
      const osUser = postgresOsUser();
      await chownTree(tmp, osUser);
      const layout: PostgresLayout = {
        dataDir: `${tmp}/data`,
        socketDir: `${tmp}/run`,
        port: freePort(),
        user: "tbg",
        osUser,
      };
      const preload = (args: string[]) => args.filter((a) => a.startsWith("shared_preload"));
      assertEquals(preload(postgresCommand(layout, without).args), []);
      const spec = postgresCommand(layout, withSo);
      assertEquals(preload(spec.args), ["shared_preload_libraries=timescaledb"]);

      // The server loads preloaded libraries from its own lib dir, where this
      // machine has no TimescaleDB: started with the argument it must refuse
      // to start and name the library, which proves the argument reached it.
      if (timescaleLibrary(pgLibDir()) !== undefined) return;
      await initPostgres(layout, false);
      const out = await new Deno.Command(spec.cmd, {
        args: spec.args,
        cwd: spec.cwd,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stderr);
      assertEquals(
        { exited: out.code !== 0, names: /could not access file "timescaledb"/.test(text) },
        { exited: true, names: true },
        text,
      );
    } finally {
      await Promise.all([tmp, withSo, without].map((d) => Deno.remove(d, { recursive: true })));
    }
  },
});
