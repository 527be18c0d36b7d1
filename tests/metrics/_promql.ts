/**
 * The metric names a PromQL expression reads, for checking dashboards and
 * alert rules against docs/metrics.md. Not a full parser: strings, label
 * matchers, ranges, durations and grouping clauses are removed, then every
 * remaining identifier that is not a function call or keyword is a series name.
 * `promtool check rules` (see the tests) checks the same expressions parse.
 */

const KEYWORDS = new Set([
  "by",
  "without",
  "on",
  "ignoring",
  "group_left",
  "group_right",
  "and",
  "or",
  "unless",
  "offset",
  "bool",
  "inf",
  "nan",
]);

export function seriesNames(expr: string): string[] {
  const stripped = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, " ")
    .replace(/\[[^\]]*\]/g, " ")
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, " ")
    .replace(/\$[a-zA-Z_]\w*/g, " ");
  const names = new Set<string>();
  for (const m of stripped.matchAll(/([a-zA-Z_:][a-zA-Z0-9_:]*)(\s*\()?/g)) {
    const [, name, call] = m;
    const before = stripped[m.index! - 1];
    if (call || KEYWORDS.has(name.toLowerCase())) continue;
    if (before !== undefined && /[0-9.]/.test(before)) continue; // 5m, 1e6, 0.99
    names.add(name);
  }
  return [...names].sort();
}

/** A histogram's or summary's `_bucket`/`_sum`/`_count` series belong to the base family. */
export function familyOf(series: string, documented: Set<string>): string {
  if (documented.has(series)) return series;
  const base = series.replace(/_(bucket|sum|count)$/, "");
  return documented.has(base) ? base : series;
}
