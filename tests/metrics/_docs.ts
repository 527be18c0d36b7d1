/**
 * What the docs say and what the engine does, for the docs-drift checks:
 * metric families from docs/metrics.md tables and from a live /metrics page,
 * event types from docs/events.md headings, from the engine's
 * `ckpool_events_emitted_total{type}` series, from the C sources'
 * `events_emit("<type>", ...)` calls and from the functions' envelope schema.
 */

import { EVENT_TYPES } from "../../functions/lib/envelope.ts";
import { scrape } from "./_fixture.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/**
 * Families named in the first cell of a docs/metrics.md table row (labels
 * stripped), except the "old name | new name" table: a renamed-away name is
 * not documented.
 */
export async function documentedFamilies(): Promise<Set<string>> {
  const text = await Deno.readTextFile(`${ROOT}docs/metrics.md`);
  const names = new Set<string>();
  let renameTable = false;
  for (const line of text.split("\n")) {
    if (!line.startsWith("|")) renameTable = false;
    if (/^\|\s*old name\s*\|/.test(line)) renameTable = true;
    const cell = /^\|\s*([^|]+)\|/.exec(line)?.[1];
    if (!cell || renameTable) continue;
    for (const m of cell.matchAll(/`([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^`]*\})?`/g)) names.add(m[1]);
  }
  return names;
}

/** Families on a /metrics page: its `# TYPE` lines. */
export function exposedFamilies(page: string): string[] {
  return page.split("\n").map((l) => /^# TYPE (\S+) \S+$/.exec(l)?.[1])
    .filter((n): n is string => n !== undefined);
}

/** Event types with a `### \`type\`` heading in docs/events.md. */
export async function documentedEventTypes(): Promise<Set<string>> {
  const text = await Deno.readTextFile(`${ROOT}docs/events.md`);
  return new Set([...text.matchAll(/^### `([a-z0-9_]+)`/gm)].map((m) => m[1]));
}

/** Literal types passed to events_emit() anywhere in ckpool/src. */
export async function typesInEngineSources(): Promise<Set<string>> {
  const types = new Set<string>();
  for await (const entry of Deno.readDir(`${ROOT}ckpool/src`)) {
    if (!entry.name.endsWith(".c")) continue;
    const text = await Deno.readTextFile(`${ROOT}ckpool/src/${entry.name}`);
    for (const m of text.matchAll(/events_emit\(\s*"([a-z0-9_]+)"/g)) types.add(m[1]);
  }
  return types;
}

/**
 * Every type the engines at `urls` count, every literal type in the C sources
 * and every type the functions accept (functions/lib/envelope.ts), sorted.
 */
export async function emittedEventTypes(urls: string[]): Promise<string[]> {
  const types = await typesInEngineSources();
  for (const type of EVENT_TYPES) types.add(type);
  for (const url of urls) {
    const page = await scrape(url);
    for (const m of page.matchAll(/^ckpool_events_emitted_total\{type="([a-z][a-z0-9_]*)"\}/gm)) {
      types.add(m[1]);
    }
  }
  return [...types].sort();
}
