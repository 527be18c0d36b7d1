/** The chaos bench's table: one row per fault, lost and duplicated per store. */

export interface FaultRow {
  fault: string;
  /** Seconds from the fault's end to recovery; null when it never recovered. */
  recoverySeconds: number | null;
  pgLost: number;
  pgDuplicated: number;
  redisLost: number;
  redisDuplicated: number;
  /** Anything else worth a reader's attention (ring at kill, tail lost). */
  note: string;
}

export function formatRows(rows: readonly FaultRow[]): string {
  const header = [
    "fault",
    "recovery s",
    "pg lost",
    "pg dup",
    "redis lost",
    "redis dup",
    "note",
  ];
  const cells = rows.map((r) => [
    r.fault,
    r.recoverySeconds === null ? "not recovered" : r.recoverySeconds.toFixed(1),
    String(r.pgLost),
    String(r.pgDuplicated),
    String(r.redisLost),
    String(r.redisDuplicated),
    r.note,
  ]);
  const all = [header, ...cells];
  const widths = header.map((_, i) => Math.max(...all.map((row) => row[i].length)));
  const line = (row: string[]) => `| ${row.map((c, i) => c.padEnd(widths[i])).join(" | ")} |`;
  const rule = `|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`;
  return [line(header), rule, ...cells.map(line)].join("\n");
}
