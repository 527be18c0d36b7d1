/**
 * Where a stack's control socket lives: `<stackDir>/control.sock`, or, when
 * that path would pass the ~107-byte limit of Unix socket paths, a file under
 * /tmp named after the stack dir. `up` and `stack` compute it the same way.
 */

export function controlSocketPath(stackDir: string): string {
  const preferred = `${stackDir}/control.sock`;
  if (preferred.length < 100) return preferred;
  const tag = stackDir.replace(/[^A-Za-z0-9]+/g, "_").slice(-60);
  return `/tmp/tbg-control${tag}.sock`;
}
