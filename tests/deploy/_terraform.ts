/**
 * Reads a Terraform module (every `.tf` file of a folder) through
 * @cdktf/hcl2json, which parses HCL offline (Go's HCL parser compiled to
 * wasm), and finds the references in it that point at nothing declared:
 * var.*, local.*, data.*, module.*, <resource type>.<name>, each/count outside
 * a for_each/count block, a dynamic block's iterator outside its content, and
 * a for_each resource's attribute read without an index.
 *
 * hcl2json keeps every expression as a "${...}" template string, so the
 * scanner below walks those strings; it knows enough of HCL's expression
 * syntax (strings with nested templates, traversals, for-expressions,
 * function calls) for the modules in deploy/terraform/.
 */

import { parse } from "@cdktf/hcl2json";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Blocks = Record<string, Record<string, Json[]>>;

export interface TfModule {
  dir: string;
  variables: Record<string, Record<string, Json>>;
  locals: Record<string, Json>;
  /** type -> name -> body */
  resources: Record<string, Record<string, Record<string, Json>>>;
  data: Record<string, Record<string, Record<string, Json>>>;
  outputs: Record<string, Record<string, Json>>;
  modules: Record<string, Record<string, Json>>;
}

const ALWAYS = new Set(["path", "terraform"]);
const KEYWORDS = new Set(["for", "in", "if", "true", "false", "null"]);

function single(blocks: Json[] | undefined, what: string): Record<string, Json> {
  if (!blocks || blocks.length !== 1) throw new Error(`${what} is declared more than once`);
  return blocks[0] as Record<string, Json>;
}

function flatten(
  blocks: Blocks | undefined,
  what: string,
): Record<string, Record<string, Record<string, Json>>> {
  const out: Record<string, Record<string, Record<string, Json>>> = {};
  for (const [type, byName] of Object.entries(blocks ?? {})) {
    out[type] = {};
    for (const [name, bodies] of Object.entries(byName)) {
      out[type][name] = single(bodies, `${what} ${type}.${name}`);
    }
  }
  return out;
}

/** Parses one HCL text (a .tf or .tfvars file) into hcl2json's JSON. */
export async function parseHcl(name: string, text: string): Promise<Record<string, Json>> {
  return await parse(name, text) as Record<string, Json>;
}

/** Loads and merges every `.tf` file of `dir`; a name declared twice is an error. */
export async function loadModule(dir: string): Promise<TfModule> {
  const module: TfModule = {
    dir,
    variables: {},
    locals: {},
    resources: {},
    data: {},
    outputs: {},
    modules: {},
  };
  const files = [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".tf"))
    .sort();
  if (files.length === 0) throw new Error(`${dir} has no .tf file`);
  const once = <T>(into: Record<string, T>, key: string, value: T, what: string) => {
    if (key in into) throw new Error(`${dir}: ${what} ${key} is declared twice`);
    into[key] = value;
  };
  for (const file of files) {
    const json = await parseHcl(file, await Deno.readTextFile(`${dir}/${file}`));
    for (const [name, bodies] of Object.entries((json.variable ?? {}) as Record<string, Json[]>)) {
      once(module.variables, name, single(bodies, `variable ${name}`), "variable");
    }
    for (const block of (json.locals ?? []) as Array<Record<string, Json>>) {
      for (const [name, value] of Object.entries(block)) once(module.locals, name, value, "local");
    }
    for (const [kind, into] of [["resource", module.resources], ["data", module.data]] as const) {
      for (const [type, byName] of Object.entries(flatten(json[kind] as Blocks, kind))) {
        into[type] ??= {};
        for (const [name, body] of Object.entries(byName)) {
          once(into[type], name, body, `${kind} ${type}`);
        }
      }
    }
    for (const [name, bodies] of Object.entries((json.output ?? {}) as Record<string, Json[]>)) {
      once(module.outputs, name, single(bodies, `output ${name}`), "output");
    }
    for (const [name, bodies] of Object.entries((json.module ?? {}) as Record<string, Json[]>)) {
      once(module.modules, name, single(bodies, `module ${name}`), "module");
    }
  }
  return module;
}

/** One traversal found in an expression, e.g. `aws_x.y[each.key].id`. */
export interface Reference {
  root: string;
  /** Attribute names and indexes after the root (an index as "[...]"). */
  steps: string[];
}

const IDENT_START = /[A-Za-z_]/;
const IDENT = /[A-Za-z0-9_-]/;

/**
 * Scans template text from `i` (just after an opening quote, or 0 for a
 * whole template) to its closing quote, or to the end when `quoted` is false,
 * handing each `${...}`/`%{...}` expression to `found`. Returns the index
 * after the closing quote (or the text's length).
 */
function scanTemplate(
  s: string,
  i: number,
  quoted: boolean,
  found: (expr: string) => void,
): number {
  let j = i;
  while (j < s.length && !(quoted && s[j] === '"')) {
    if (quoted && s[j] === "\\") j += 2;
    else if (s.startsWith("$${", j) || s.startsWith("%%{", j)) j += 3;
    else if (s.startsWith("${", j) || s.startsWith("%{", j)) {
      const end = endOfExpression(s, j + 2);
      found(s.slice(j + 2, end));
      j = end + 1;
    } else j++;
  }
  if (!quoted) return s.length;
  if (j >= s.length) throw new Error(`unterminated string in ${s}`);
  return j + 1;
}

/** The end (index after the closing quote) of the string literal starting at `s[i] === '"'`. */
function endOfString(s: string, i: number, found: (expr: string) => void): number {
  return scanTemplate(s, i + 1, true, found);
}

/** The index of the `}` (or `]`, `)`) that closes an expression starting at `i`. */
function endOfExpression(s: string, i: number): number {
  let depth = 0;
  let j = i;
  while (j < s.length) {
    const c = s[j];
    if (c === '"') {
      j = endOfString(s, j, () => {});
      continue;
    }
    if (c === "{" || c === "[" || c === "(") depth++;
    else if (c === "}" || c === "]" || c === ")") {
      if (depth === 0) return j;
      depth--;
    }
    j++;
  }
  return j;
}

/** The `${...}` expressions of a template string (hcl2json's form of every expression). */
export function templateExpressions(template: string): string[] {
  const out: string[] = [];
  scanTemplate(template, 0, false, (e) => out.push(e));
  return out;
}

/** Names bound by for-expressions anywhere in `expr` (`for k, v in ...`). */
function forBindings(expr: string): string[] {
  return [...expr.matchAll(/\bfor\s+([A-Za-z_][\w-]*)(?:\s*,\s*([A-Za-z_][\w-]*))?\s+in\b/g)]
    .flatMap((m) => [m[1], m[2]].filter((x): x is string => x !== undefined));
}

/** The traversals of one expression, with those in its strings' templates and its indexes. */
export function referencesIn(expr: string): Reference[] {
  const refs: Reference[] = [];
  const nested: string[] = [];
  let i = 0;
  const prevSignificant = (at: number) => {
    let k = at - 1;
    while (k >= 0 && /\s/.test(expr[k])) k--;
    return k >= 0 ? expr[k] : "";
  };
  while (i < expr.length) {
    const c = expr[i];
    if (c === '"') {
      i = endOfString(expr, i, (e) => nested.push(e));
      continue;
    }
    if (/[0-9]/.test(c)) {
      while (i < expr.length && /[0-9.eE]/.test(expr[i])) i++;
      continue;
    }
    if (!IDENT_START.test(c) || prevSignificant(i) === ".") {
      i++;
      continue;
    }
    let j = i;
    while (j < expr.length && IDENT.test(expr[j])) j++;
    const root = expr.slice(i, j);
    const steps: string[] = [];
    for (;;) {
      if (
        expr[j] === "." && j + 1 < expr.length &&
        (IDENT_START.test(expr[j + 1]) || expr[j + 1] === "*")
      ) {
        let k = j + 1;
        if (expr[k] === "*") k++;
        else while (k < expr.length && IDENT.test(expr[k])) k++;
        steps.push(expr.slice(j + 1, k));
        j = k;
      } else if (expr[j] === "[") {
        const end = endOfExpression(expr, j + 1);
        const index = expr.slice(j + 1, end);
        nested.push(index);
        steps.push(`[${index.trim()}]`);
        j = end + 1;
      } else break;
    }
    let k = j;
    while (k < expr.length && /\s/.test(expr[k])) k++;
    const isCall = expr[k] === "(" && steps.length === 0;
    const isKey = expr[k] === "=" && expr[k + 1] !== "=" && expr[k + 1] !== ">";
    if (!isCall && !isKey && !KEYWORDS.has(root)) refs.push({ root, steps });
    i = j;
  }
  for (const e of nested) refs.push(...referencesIn(e));
  return refs;
}

interface Scope {
  /** Names usable as roots here besides the module's own (each, count, iterators). */
  bound: Set<string>;
}

function describe(ref: Reference): string {
  return [ref.root, ...ref.steps].join(".").replaceAll(".[", "[");
}

/** Every reference of the module that resolves to nothing, as "<where>: <reason>". */
export function unresolvedReferences(module: TfModule): string[] {
  const problems: string[] = [];
  const check = (ref: Reference, where: string, scope: Scope) => {
    const name = ref.steps[0];
    const text = describe(ref);
    const fail = (why: string) => problems.push(`${where}: ${text}: ${why}`);
    if (scope.bound.has(ref.root) || ALWAYS.has(ref.root)) return;
    switch (ref.root) {
      case "var":
        if (!(name in module.variables)) fail(`no variable "${name}"`);
        return;
      case "local":
        if (!(name in module.locals)) fail(`no local "${name}"`);
        return;
      case "module":
        if (!(name in module.modules)) fail(`no module "${name}"`);
        return;
      case "data": {
        const dataName = ref.steps[1];
        if (!module.data[name]?.[dataName]) fail(`no data source ${name}.${dataName}`);
        return;
      }
      case "each":
      case "count":
        fail(`${ref.root} outside a block with ${ref.root === "each" ? "for_each" : "count"}`);
        return;
      case "self":
        return;
    }
    const resource = module.resources[ref.root]?.[name];
    if (!resource) {
      fail(
        module.resources[ref.root] || /_/.test(ref.root)
          ? `no resource ${ref.root}.${name}`
          : `unknown name "${ref.root}"`,
      );
      return;
    }
    const repeated = "for_each" in resource || "count" in resource;
    const next = ref.steps[1];
    if (repeated && next !== undefined && !next.startsWith("[")) {
      fail(`${ref.root}.${name} has for_each/count: index it before reading .${next}`);
    }
  };

  const walk = (value: Json, where: string, scope: Scope) => {
    if (typeof value === "string") {
      for (const expr of templateExpressions(value)) {
        const local = { bound: new Set([...scope.bound, ...forBindings(expr)]) };
        for (const ref of referencesIn(expr)) check(ref, where, local);
      }
    } else if (Array.isArray(value)) {
      value.forEach((v, i) => walk(v, `${where}[${i}]`, scope));
    } else if (value !== null && typeof value === "object") {
      for (const [key, v] of Object.entries(value)) {
        if (key === "dynamic") walkDynamic(v, `${where}.dynamic`, scope);
        else walk(v, `${where}.${key}`, scope);
      }
    }
  };

  // dynamic "NAME" { for_each = ..., iterator = X, content { ... NAME.key ... } }
  const walkDynamic = (value: Json, where: string, scope: Scope) => {
    for (const [name, blocks] of Object.entries(value as Record<string, Json[]>)) {
      for (const block of blocks as Array<Record<string, Json>>) {
        const { content, iterator, ...rest } = block;
        walk(rest, `${where}.${name}`, scope);
        const it = typeof iterator === "string" ? iterator : name;
        walk(content, `${where}.${name}.content`, { bound: new Set([...scope.bound, it]) });
      }
    }
  };

  const blockScope = (body: Record<string, Json>): Scope => ({
    bound: new Set([
      ...("for_each" in body ? ["each"] : []),
      ...("count" in body ? ["count"] : []),
    ]),
  });
  const none = (): Scope => ({ bound: new Set() });

  for (const [name, body] of Object.entries(module.variables)) {
    const { type: _type, ...rest } = body; // a type constraint is not an expression
    walk(rest, `variable.${name}`, none());
  }
  for (const [name, value] of Object.entries(module.locals)) walk(value, `local.${name}`, none());
  for (const [kind, blocks] of [["resource", module.resources], ["data", module.data]] as const) {
    for (const [type, byName] of Object.entries(blocks)) {
      for (const [name, body] of Object.entries(byName)) {
        const { for_each, count, ...rest } = body;
        walk({ for_each, count } as Json, `${kind}.${type}.${name}`, none());
        walk(rest, `${kind}.${type}.${name}`, blockScope(body));
      }
    }
  }
  for (const [name, body] of Object.entries(module.outputs)) walk(body, `output.${name}`, none());
  for (const [name, body] of Object.entries(module.modules)) {
    walk(body, `module.${name}`, blockScope(body));
  }
  return [...new Set(problems)];
}

/**
 * The value of an attribute that is a literal or exactly one `local.X`
 * (how the settings are written); anything else is an error, so a setting
 * cannot silently become an expression the test does not understand.
 */
export function settingOf(module: TfModule, body: Record<string, unknown>, key: string): unknown {
  const value = body[key];
  if (value === undefined) throw new Error(`${module.dir}: attribute ${key} is not set`);
  if (typeof value !== "string" || !value.includes("${")) return value;
  const m = /^\$\{local\.([A-Za-z_][\w-]*)\}$/.exec(value);
  if (!m) throw new Error(`${module.dir}: ${key} = ${value} is neither a literal nor one local`);
  if (!(m[1] in module.locals)) {
    throw new Error(`${module.dir}: ${key} uses undeclared local.${m[1]}`);
  }
  return module.locals[m[1]];
}
