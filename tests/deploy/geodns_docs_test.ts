/**
 * docs/geodns/ holds the brief's five documents, each with what the brief asks
 * of it; every relative link and #anchor in them resolves; the files they name
 * exist; and nothing in the repository still points at the old docs/geodns.md.
 */

import assert from "node:assert/strict";
import { requires } from "../harness/permissions.ts";

const REPO = new URL("../../", import.meta.url).pathname;
const DIR = `${REPO}docs/geodns/`;
const PERMS = ["read"] as const;

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to dashes. */
function anchorOf(heading: string): string {
  return heading.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, "").replaceAll(" ", "-");
}

function anchorsIn(path: string): Set<string> {
  const text = Deno.readTextFileSync(path);
  return new Set([...text.matchAll(/^#{1,6} (.+)$/gm)].map((m) => anchorOf(m[1])));
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

const DOCS: Record<string, RegExp[]> = {
  "README.md": [/```mermaid\nflowchart/, /```mermaid\nsequenceDiagram/, /## TTL strategy/],
  "route53-setup.md": [/deploy\/terraform\/route53\//, /treats them\s+all as healthy/],
  "cloudflare-alternative.md": [
    /deploy\/terraform\/cloudflare\//,
    /TCP monitor on the\s+Stratum port/,
  ],
  "health-checks.md": [/## The numbers/, /### Why 10 s and 30 s/],
  "failover-runbook.md": [/## A region is down/, /## Draining a region for maintenance/],
};

requires({
  name: "geodns docs: the five documents exist with their content",
  permissions: PERMS,
  fn() {
    for (const [file, patterns] of Object.entries(DOCS)) {
      const text = Deno.readTextFileSync(`${DIR}${file}`);
      for (const pattern of patterns) assert.match(text, pattern, `${file}: ${pattern}`);
    }
  },
});

requires({
  name: "geodns docs: links, anchors and named files resolve",
  permissions: PERMS,
  fn() {
    const problems: string[] = [];
    for (const entry of Deno.readDirSync(DIR)) {
      if (!entry.name.endsWith(".md")) continue;
      const path = `${DIR}${entry.name}`;
      const text = Deno.readTextFileSync(path);
      for (const [, target] of text.matchAll(/\]\(([^)\s]+)\)/g)) {
        if (/^[a-z]+:/.test(target)) continue;
        const [file, anchor] = target.split("#");
        const resolved = file ? new URL(file, `file://${path}`).pathname : path;
        if (!exists(resolved)) problems.push(`${entry.name}: ${target}: no such file`);
        else if (anchor && !anchorsIn(resolved).has(anchor)) {
          problems.push(`${entry.name}: ${target}: no heading #${anchor}`);
        }
      }
      for (
        const [named] of text.matchAll(
          /(?<![\w/.])(?:tests|deploy|functions|config)\/[\w./-]+\.(?:tf|ts|json|md|example)\b/g,
        )
      ) {
        if (!exists(`${REPO}${named}`)) problems.push(`${entry.name}: names missing ${named}`);
      }
    }
    assert.deepEqual(problems, []);
  },
});

requires({
  name: "geodns docs: nothing points at the old docs/geodns.md",
  permissions: PERMS,
  fn() {
    assert.ok(!exists(`${REPO}docs/geodns.md`));
    const stale: string[] = [];
    const walk = (dir: string) => {
      for (const entry of Deno.readDirSync(dir)) {
        if ([".git", ".data", "node_modules", "build"].includes(entry.name)) continue;
        const path = `${dir}/${entry.name}`;
        if (entry.isDirectory) walk(path);
        else if (
          /\.(md|ts|yaml|service|conf|json|tf)$/.test(entry.name) &&
          !path.endsWith("geodns_docs_test.ts")
        ) {
          if (/geodns\.md/.test(Deno.readTextFileSync(path))) stale.push(path.slice(REPO.length));
        }
      }
    };
    walk(REPO.replace(/\/$/, ""));
    assert.deepEqual(stale, []);
  },
});
