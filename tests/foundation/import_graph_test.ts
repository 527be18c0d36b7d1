/**
 * The TypeScript layering, checked on the sources: product code (stack/,
 * tools/, bench/, functions/, nats/, netem/) and the shared lib/ never import
 * from tests/; functions/ imports nothing outside functions/ (its Docker image
 * copies only functions/); and the import graph of product code and lib/ has
 * no cycle.
 */

import assert from "node:assert/strict";
import { requires } from "../harness/permissions.ts";
import {
  findCycle,
  importGraph,
  importSpecifiers,
  metaUrlPaths,
  resolveRelative,
  tsFiles,
} from "./_import_graph.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const PRODUCT_DIRS = ["stack", "tools", "bench", "functions", "nats", "netem", "lib"];

Deno.test("import graph: the scanner reads every import form and skips comments", () => {
  const source = [
    'import { a, type B } from "./a.ts";',
    "import type {",
    "  C,",
    '} from "../c/c.ts";',
    'export * from "./d.ts";',
    'export { e } from "./e.ts";',
    'import "./side.ts";',
    'const f = await import("./f.ts");',
    'import postgres from "postgres";',
    '// import { g } from "./commented.ts";',
    '/* import { h } from "./block_commented.ts"; */',
    'const s = "// not a comment"; import { i } from "./i.ts";',
    'const w = new URL("./worker.ts", import.meta.url);',
  ].join("\n");
  assert.deepEqual(importSpecifiers(source).sort(), [
    "../c/c.ts",
    "./a.ts",
    "./d.ts",
    "./e.ts",
    "./f.ts",
    "./i.ts",
    "./side.ts",
    "postgres",
  ]);
  assert.deepEqual(metaUrlPaths(source), ["./worker.ts"]);
  assert.equal(
    resolveRelative("tools/miner.ts", "../lib/stratum/client.ts"),
    "lib/stratum/client.ts",
  );
  assert.equal(
    resolveRelative("stack/topology.ts", "./topology_ports.ts"),
    "stack/topology_ports.ts",
  );
  assert.equal(resolveRelative("stack/topology.ts", "npm:hono"), null);
});

Deno.test("import graph: a cycle is found and printed as a path, an acyclic graph passes", () => {
  const cyclic = new Map([
    ["a.ts", ["b.ts"]],
    ["b.ts", ["c.ts", "d.ts"]],
    ["c.ts", ["a.ts"]],
    ["d.ts", []],
  ]);
  assert.deepEqual(findCycle(cyclic), ["a.ts", "b.ts", "c.ts", "a.ts"]);
  const acyclic = new Map([
    ["a.ts", ["b.ts", "c.ts"]],
    ["b.ts", ["c.ts"]],
    ["c.ts", []],
  ]);
  assert.equal(findCycle(acyclic), null);
});

requires({
  name: "import graph: product code and lib/ never import or load code from tests/",
  permissions: ["read"],
  async fn() {
    const files = await tsFiles(ROOT, PRODUCT_DIRS);
    assert.ok(files.includes("tools/miner.ts"), "the walk must see tools/miner.ts");
    const offending: string[] = [];
    for (const file of files) {
      const source = await Deno.readTextFile(`${ROOT}${file}`);
      for (const spec of [...importSpecifiers(source), ...metaUrlPaths(source)]) {
        const target = resolveRelative(file, spec);
        if (target === "tests" || target?.startsWith("tests/")) {
          offending.push(`${file} -> ${spec}`);
        }
      }
    }
    assert.deepEqual(offending, [], `imports of test code:\n${offending.join("\n")}`);
  },
});

requires({
  name: "import graph: functions/ imports nothing outside functions/",
  permissions: ["read"],
  async fn() {
    const files = await tsFiles(ROOT, ["functions"]);
    const graph = await importGraph(ROOT, files);
    const outside = [...graph].flatMap(([file, targets]) =>
      targets.filter((t) => !t.startsWith("functions/")).map((t) => `${file} -> ${t}`)
    );
    assert.deepEqual(outside, [], `functions/ reaches outside itself:\n${outside.join("\n")}`);
  },
});

requires({
  name: "import graph: no import cycle among stack/, tools/, bench/, functions/ and lib/",
  permissions: ["read"],
  async fn() {
    const graph = await importGraph(ROOT, await tsFiles(ROOT, PRODUCT_DIRS));
    const cycle = findCycle(graph);
    assert.equal(cycle, null, `import cycle: ${cycle?.join(" -> ")}`);
  },
});
