/**
 * Runs Prometheus' own `promtool` (Debian package `prometheus`, installed by
 * stack/bootstrap.ts). Absent promtool is an error naming the package, never
 * a skipped check.
 */

import { findCommand } from "../../stack/supervisor/which.ts";

export interface PromtoolResult {
  code: number;
  /** stdout and stderr together: lint findings, rule errors, test failures. */
  output: string;
}

export function promtoolPath(): string {
  const path = findCommand("promtool");
  if (path === null) {
    throw new Error(
      "promtool not found on PATH: install the Debian package 'prometheus' " +
        "(npx -y deno task bootstrap does, as root)",
    );
  }
  return path;
}

/** `promtool <args...>` with `stdin` piped in (when given), from `cwd`. */
export async function promtool(
  args: string[],
  options: { stdin?: string; cwd?: string } = {},
): Promise<PromtoolResult> {
  const child = new Deno.Command(promtoolPath(), {
    args,
    cwd: options.cwd,
    stdin: options.stdin === undefined ? "null" : "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  if (options.stdin !== undefined) {
    const writer = child.stdin.getWriter();
    await writer.write(new TextEncoder().encode(options.stdin));
    await writer.close();
  }
  const { code, stdout, stderr } = await child.output();
  const text = new TextDecoder().decode(stdout) + new TextDecoder().decode(stderr);
  return { code, output: text.trim() };
}
