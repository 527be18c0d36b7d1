/** Finds programs the way an operator expects, including sbin directories missing from a user's PATH. */

const EXTRA_DIRS = ["/usr/local/sbin", "/usr/sbin", "/sbin"];

function isExecutable(path: string): boolean {
  try {
    const info = Deno.statSync(path);
    return info.isFile && ((info.mode ?? 0o111) & 0o111) !== 0;
  } catch {
    return false;
  }
}

/** The absolute path of `name` on PATH or in an sbin directory; null when absent. */
export function findCommand(name: string): string | null {
  if (name.includes("/")) return isExecutable(name) ? name : null;
  const dirs = (Deno.env.get("PATH") ?? "").split(":").filter((d) => d !== "");
  for (const dir of [...dirs, ...EXTRA_DIRS]) {
    if (isExecutable(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  return null;
}

/** Like `findCommand` but falls back to the bare name, so a spawn error names the program. */
export function commandPath(name: string): string {
  return findCommand(name) ?? name;
}
