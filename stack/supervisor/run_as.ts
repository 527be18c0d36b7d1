/**
 * Running PostgreSQL when we are root: postgres refuses uid 0, so its programs
 * run as the `postgres` OS user (created by Debian's postgresql package) and
 * the directories they write are handed to that user first.
 */

import type { CommandSpec } from "./types.ts";

export interface OsUser {
  name: string;
  uid: number;
  gid: number;
}

/** True when this process runs as uid 0. */
export function isRoot(): boolean {
  return Deno.uid() === 0;
}

/** Looks `name` up in /etc/passwd; throws naming the user when it is absent. */
export function lookupUser(name: string): OsUser {
  const passwd = Deno.readTextFileSync("/etc/passwd");
  for (const line of passwd.split("\n")) {
    const [user, , uid, gid] = line.split(":");
    if (user === name) return { name, uid: Number(uid), gid: Number(gid) };
  }
  throw new Error(
    `run_as: OS user "${name}" does not exist (it comes with Debian's postgresql-15 package; ` +
      `run \`deno task bootstrap\` as root)`,
  );
}

/** The user PostgreSQL programs run as: `postgres` when root, otherwise null (ourselves). */
export function postgresOsUser(): OsUser | null {
  return isRoot() ? lookupUser("postgres") : null;
}

/**
 * Wraps `spec` so it runs as `user` (via util-linux `setpriv`, which execs in
 * place, so the pid we hold is the program's own), optionally in a new process
 * group (via `setsid`) so the whole tree can be signalled at once.
 */
export function wrapCommand(
  spec: CommandSpec,
  user: OsUser | null,
  newProcessGroup = false,
): CommandSpec {
  let { cmd, args } = spec;
  if (user) {
    args = [`--reuid=${user.uid}`, `--regid=${user.gid}`, "--init-groups", "--", cmd, ...args];
    cmd = "setpriv";
  }
  if (newProcessGroup) {
    args = [cmd, ...args];
    cmd = "setsid";
  }
  return { ...spec, cmd, args };
}

/** Recursively hands `path` to `user` (no-op when `user` is null). */
export async function chownTree(path: string, user: OsUser | null): Promise<void> {
  if (!user) return;
  await Deno.chown(path, user.uid, user.gid);
  const info = await Deno.lstat(path);
  if (!info.isDirectory) return;
  for await (const entry of Deno.readDir(path)) {
    await chownTree(`${path}/${entry.name}`, user);
  }
}

/** True when `user` can enter `dir` (every ancestor searchable); always true for ourselves. */
export async function canEnter(dir: string, user: OsUser | null): Promise<boolean> {
  if (!user) return true;
  const probe = wrapCommand({ cmd: "test", args: ["-x", dir] }, user);
  const { code } = await new Deno.Command(probe.cmd, {
    args: probe.args,
    stdout: "null",
    stderr: "null",
  }).output();
  return code === 0;
}
