/**
 * The repository's TypeScript import graph, read from the sources: every
 * relative specifier of `import ... from`, `export ... from`, `import "x"` and
 * `import("x")`, comments skipped, resolved to a repo-relative path. Bare
 * specifiers (npm:, node:, the import map's names) are not edges.
 */

/** `source` with every comment replaced by spaces; string literals kept as they are. */
export function withoutComments(source: string): string {
  let out = "";
  let i = 0;
  while (i < source.length) {
    const c = source[i];
    const next = source[i + 1];
    if (c === "/" && next === "/") {
      while (i < source.length && source[i] !== "\n") i++;
      out += " ";
    } else if (c === "/" && next === "*") {
      const end = source.indexOf("*/", i + 2);
      const stop = end < 0 ? source.length : end + 2;
      // Newlines are kept so a cycle report's line numbers stay meaningful.
      out += source.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
    } else if (c === '"' || c === "'" || c === "`") {
      const start = i++;
      while (i < source.length && source[i] !== c) i += source[i] === "\\" ? 2 : 1;
      out += source.slice(start, ++i);
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

const STATIC_FROM = /\b(?:import|export)\b[^;"'`]*?\bfrom\s*(["'])([^"']+)\1/g;
const SIDE_EFFECT = /\bimport\s*(["'])([^"']+)\1/g;
const DYNAMIC = /\bimport\s*\(\s*(["'])([^"']+)\1\s*\)/g;
const META_URL = /\bnew URL\(\s*(["'])([^"']+)\1\s*,\s*import\.meta\.url\s*\)/g;

/** Every module specifier `source` imports or re-exports, in source order per form. */
export function importSpecifiers(source: string): string[] {
  const code = withoutComments(source);
  const found: string[] = [];
  for (const pattern of [STATIC_FROM, SIDE_EFFECT, DYNAMIC]) {
    for (const match of code.matchAll(pattern)) found.push(match[2]);
  }
  return found;
}

/** Paths `source` names with `new URL("...", import.meta.url)` (workers, spawned scripts, dirs). */
export function metaUrlPaths(source: string): string[] {
  return [...withoutComments(source).matchAll(META_URL)].map((m) => m[2]);
}

/** `spec` seen from repo-relative `file`, as a repo-relative path; null when not relative. */
export function resolveRelative(file: string, spec: string): string | null {
  if (!spec.startsWith("./") && !spec.startsWith("../")) return null;
  const parts = file.split("/").slice(0, -1);
  for (const part of spec.split("/")) {
    if (part === "..") parts.pop();
    else if (part !== "." && part !== "") parts.push(part);
  }
  return parts.join("/");
}

/** Repo-relative paths of every .ts file under `dirs` of `root`, sorted. */
export async function tsFiles(root: string, dirs: readonly string[]): Promise<string[]> {
  const files: string[] = [];
  async function walk(dir: string): Promise<void> {
    for await (const entry of Deno.readDir(`${root}${dir}`)) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory) await walk(path);
      else if (entry.isFile && entry.name.endsWith(".ts")) files.push(path);
    }
  }
  for (const dir of dirs) await walk(dir);
  return files.sort();
}

/** File -> the repo-relative files it imports (relative specifiers only). */
export type ImportGraph = Map<string, string[]>;

export async function importGraph(root: string, files: readonly string[]): Promise<ImportGraph> {
  const graph: ImportGraph = new Map();
  for (const file of files) {
    const source = await Deno.readTextFile(`${root}${file}`);
    const edges = importSpecifiers(source)
      .map((spec) => resolveRelative(file, spec))
      .filter((path): path is string => path !== null);
    graph.set(file, [...new Set(edges)]);
  }
  return graph;
}

/**
 * One import cycle of `graph` as the path a -> b -> ... -> a, or null when it
 * has none. Depth-first search; a node on the current path seen again closes a cycle.
 */
export function findCycle(graph: ImportGraph): string[] | null {
  const done = new Set<string>();
  const path: string[] = [];
  const onPath = new Set<string>();
  function visit(node: string): string[] | null {
    if (onPath.has(node)) return [...path.slice(path.indexOf(node)), node];
    if (done.has(node)) return null;
    onPath.add(node);
    path.push(node);
    for (const next of graph.get(node) ?? []) {
      const cycle = visit(next);
      if (cycle) return cycle;
    }
    path.pop();
    onPath.delete(node);
    done.add(node);
    return null;
  }
  for (const node of [...graph.keys()].sort()) {
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}
