/**
 * `make -C ckpool [target...]` for the deno tasks, tolerant of an engine that
 * is not there yet: without ckpool/Makefile, or without a named target in it,
 * prints what it skips and exits 0. Otherwise make's exit code is ours.
 *
 *   deno run --allow-run --allow-read stack/supervisor/engine_make.ts          (build)
 *   deno run --allow-run --allow-read stack/supervisor/engine_make.ts test     (C unit tests)
 */

const ENGINE_DIR = new URL("../../ckpool", import.meta.url).pathname;

function makefileText(): string | null {
  try {
    return Deno.readTextFileSync(`${ENGINE_DIR}/Makefile`);
  } catch {
    return null;
  }
}

/** True when the Makefile has a rule line for `target`. */
export function hasTarget(makefile: string, target: string): boolean {
  const escaped = target.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  return new RegExp(`^(?:[^:#=\\n]*\\s)?${escaped}(?:\\s[^:#=\\n]*)?\\s*::?(?!=)`, "m").test(
    makefile,
  );
}

async function main(targets: string[]): Promise<number> {
  const makefile = makefileText();
  const label = `make -C ckpool ${targets.join(" ")}`.trimEnd();
  if (makefile === null) {
    console.log(`[build] ckpool/Makefile does not exist yet; skipping ${label}`);
    return 0;
  }
  const absent = targets.filter((t) => !hasTarget(makefile, t));
  if (absent.length > 0) {
    console.log(`[build] ckpool/Makefile has no target ${absent.join(", ")}; skipping ${label}`);
    return 0;
  }
  const { code } = await new Deno.Command("make", {
    args: ["-C", ENGINE_DIR, ...targets],
    stdin: "null",
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (code !== 0) console.error(`[build] ${label} failed with exit code ${code}`);
  return code;
}

if (import.meta.main) Deno.exit(await main(Deno.args));
